/**
 * The dispatch table: one handler per S3 operation. A `Record` over the operation names, so adding
 * an operation to the endpoint union fails the build until it has a handler.
 */
import type { S3Endpoint, S3Operation } from './endpoint.js';
import type { S3Context, S3Reply } from './context.js';
import {
  handleCreateBucket,
  handleDeleteBucket,
  handleGetBucketLocation,
  handleGetBucketVersioning,
  handleHeadBucket,
  handleListBuckets,
} from './bucket.js';
import { handleGetObject, handleHeadObject } from './object-get.js';
import { handleCopyObject, handlePutObject } from './object-put.js';
import { handleDeleteObject, handleDeleteObjects } from './object-delete.js';
import { handleListObjects, handleListObjectsV2 } from './list.js';
import {
  handleAbortMultipartUpload,
  handleCompleteMultipartUpload,
  handleCreateMultipartUpload,
  handleListMultipartUploads,
  handleListParts,
  handleUploadPart,
  handleUploadPartCopy,
} from './multipart.js';
import { handleDeleteObjectTagging, handleGetObjectTagging, handlePutObjectTagging } from './tagging.js';

type HandlerTable = { [O in S3Operation]: (ctx: S3Context<Extract<S3Endpoint, { op: O }>>) => Promise<S3Reply> };

export const HANDLERS: HandlerTable = {
  ListBuckets: handleListBuckets,
  CreateBucket: handleCreateBucket,
  HeadBucket: handleHeadBucket,
  DeleteBucket: handleDeleteBucket,
  GetBucketLocation: handleGetBucketLocation,
  GetBucketVersioning: handleGetBucketVersioning,
  ListObjects: handleListObjects,
  ListObjectsV2: handleListObjectsV2,
  ListMultipartUploads: handleListMultipartUploads,
  DeleteObjects: handleDeleteObjects,
  PutObject: handlePutObject,
  CopyObject: handleCopyObject,
  GetObject: handleGetObject,
  HeadObject: handleHeadObject,
  DeleteObject: handleDeleteObject,
  CreateMultipartUpload: handleCreateMultipartUpload,
  UploadPart: handleUploadPart,
  UploadPartCopy: handleUploadPartCopy,
  CompleteMultipartUpload: handleCompleteMultipartUpload,
  AbortMultipartUpload: handleAbortMultipartUpload,
  ListParts: handleListParts,
  GetObjectTagging: handleGetObjectTagging,
  PutObjectTagging: handlePutObjectTagging,
  DeleteObjectTagging: handleDeleteObjectTagging,
};

export function dispatch(ctx: S3Context): Promise<S3Reply> {
  const handler = HANDLERS[ctx.endpoint.op] as (ctx: S3Context) => Promise<S3Reply>;
  return handler(ctx);
}
