/**
 * Multipart uploads (S3 API reference): CreateMultipartUpload, UploadPart, UploadPartCopy (with
 * x-amz-copy-source-range), CompleteMultipartUpload, AbortMultipartUpload, ListParts,
 * ListMultipartUploads. Part order, ETags and sizes are checked by the store at completion; the
 * gateway adds the checksum rules: part checksums named in the completion body must match what
 * was uploaded, and the object's checksum is derived from the parts' (COMPOSITE, or FULL_OBJECT
 * by CRC combination for CRC64NVME or when asked).
 */
import type { ChecksumAlgorithm, ChecksumValue, CompletedPart, PartInfo, PutOptions } from '../../backend/core/object-store.js';
import { StoreError } from '../../backend/core/errors.js';
import { uploadBody } from './body.js';
import { checksumHeaderName, compositeChecksum, crcCombine, isCrcAlgorithm, parseChecksumAlgorithm, CHECKSUM_ALGORITHMS } from './checksums.js';
import type { S3Endpoint } from './endpoint.js';
import {
  conditionsOf,
  header,
  isoDate,
  quoteEtag,
  standardHeadersOf,
  tagsFromHeader,
  userMetadataOf,
  type S3Context,
  type S3Reply,
} from './context.js';
import { s3Errors } from './errors.js';
import { ownerXml } from './bucket.js';
import { encoder } from './list.js';
import { checksumReplyHeaders, withBody, writeConditions } from './object-put.js';
import { asArray, childrenOf, parseXml, readBounded, s3Document, textOf, xmlElement, xmlOpt } from './xml.js';

type Ep<O extends S3Endpoint['op']> = Extract<S3Endpoint, { op: O }>;

const MAX_COMPLETE_BODY = 4 * 1024 * 1024;

export async function handleCreateMultipartUpload(ctx: S3Context<Ep<'CreateMultipartUpload'>>): Promise<S3Reply> {
  const { bucket, key } = ctx.endpoint;
  const algText = header(ctx.req, 'x-amz-checksum-algorithm');
  const algorithm = parseChecksumAlgorithm(algText);
  if (algText !== undefined && !algorithm) throw s3Errors.invalidRequest('Checksum algorithm provided is unsupported.');
  const type = header(ctx.req, 'x-amz-checksum-type')?.toUpperCase();
  if (type !== undefined && type !== 'COMPOSITE' && type !== 'FULL_OBJECT') throw s3Errors.invalidRequest('Invalid x-amz-checksum-type');
  if (type === 'FULL_OBJECT' && algorithm && !isCrcAlgorithm(algorithm)) {
    throw s3Errors.invalidRequest(`The FULL_OBJECT checksum type cannot be used with the ${algorithm} checksum algorithm.`);
  }
  const options: PutOptions = { headers: standardHeadersOf(ctx.req), userMetadata: userMetadataOf(ctx.req) };
  const tags = tagsFromHeader(header(ctx.req, 'x-amz-tagging'));
  if (tags) options.tags = tags;
  const upload = await ctx.store.createMultipartUpload(bucket, key, options);
  const headers: Record<string, string> = {};
  if (algorithm) {
    headers['x-amz-checksum-algorithm'] = algorithm;
    headers['x-amz-checksum-type'] = type ?? (algorithm === 'CRC64NVME' ? 'FULL_OBJECT' : 'COMPOSITE');
  }
  return {
    status: 200,
    headers,
    body: s3Document('InitiateMultipartUploadResult', [
      xmlElement('Bucket', bucket),
      xmlElement('Key', key),
      xmlElement('UploadId', upload.uploadId),
    ]),
  };
}

export async function handleUploadPart(ctx: S3Context<Ep<'UploadPart'>>): Promise<S3Reply> {
  const { bucket, key, uploadId, partNumber } = ctx.endpoint;
  const ub = uploadBody(ctx.req, ctx.auth);
  const options: Pick<PutOptions, 'contentMd5' | 'expectedSize' | 'checksum'> = {
    get checksum() {
      return ub.checksum;
    },
  };
  if (ub.contentMd5) options.contentMd5 = ub.contentMd5;
  if (ub.expectedSize !== undefined) options.expectedSize = ub.expectedSize;
  const part = await withBody(ub, () => ctx.store.uploadPart(bucket, key, uploadId, partNumber, ub.body, options));
  return { status: 200, headers: { ETag: quoteEtag(part.etag), ...checksumReplyHeaders({ checksum: ub.checksum ?? part.checksum }) } };
}

/** x-amz-copy-source-range: `bytes=first-last`, both required. */
function copyRange(text: string | undefined): { start: number; end: number } | undefined {
  if (text === undefined) return undefined;
  const m = /^bytes=(\d+)-(\d+)$/.exec(text.trim());
  if (!m || Number(m[2]) < Number(m[1])) {
    throw s3Errors.invalidArgument('The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy', 'x-amz-copy-source-range', text);
  }
  return { start: Number(m[1]), end: Number(m[2]) };
}

export async function handleUploadPartCopy(ctx: S3Context<Ep<'UploadPartCopy'>>): Promise<S3Reply> {
  const { bucket, key, uploadId, partNumber, source } = ctx.endpoint;
  const range = copyRange(header(ctx.req, 'x-amz-copy-source-range'));
  const conditions = conditionsOf(ctx.req, 'x-amz-copy-source-');
  let part: PartInfo;
  try {
    part = await ctx.store.uploadPartCopy(bucket, key, uploadId, partNumber, { bucket: source.bucket, key: source.key, conditions, range });
  } catch (err) {
    if (err instanceof StoreError && err.code === 'NotModified') throw new StoreError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
    throw err;
  }
  return {
    status: 200,
    body: s3Document('CopyPartResult', [xmlElement('LastModified', isoDate(part.lastModified)), xmlElement('ETag', quoteEtag(part.etag))]),
  };
}

interface RequestedPart extends CompletedPart {
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
}

function parseCompleteBody(text: string): RequestedPart[] {
  const root = parseXml(text, 'CompleteMultipartUpload');
  const parts = asArray(root.Part).map((node) => {
    const c = childrenOf(node);
    const num = textOf(c.PartNumber)?.trim();
    const etag = textOf(c.ETag)?.trim();
    if (num === undefined || etag === undefined || !/^\d+$/.test(num)) throw s3Errors.malformedXml();
    const partNumber = Number(num);
    if (partNumber < 1 || partNumber > 10000) throw s3Errors.invalidPartNumber();
    const checksums: RequestedPart['checksums'] = {};
    for (const alg of CHECKSUM_ALGORITHMS) {
      const v = textOf(c[`Checksum${alg}`]);
      if (v !== undefined) checksums[alg] = v.trim();
    }
    return { partNumber, etag, checksums };
  });
  if (parts.length === 0) throw s3Errors.malformedXml();
  return parts;
}

async function allParts(ctx: S3Context<Ep<'CompleteMultipartUpload'>>): Promise<Map<number, PartInfo>> {
  const { bucket, key, uploadId } = ctx.endpoint;
  const out = new Map<number, PartInfo>();
  let marker: number | undefined;
  for (;;) {
    const page = await ctx.store.listParts(bucket, key, uploadId, { partNumberMarker: marker, maxParts: 1000 });
    for (const p of page.parts) out.set(p.partNumber, p);
    if (!page.isTruncated || page.nextPartNumberMarker === undefined) return out;
    marker = page.nextPartNumberMarker;
  }
}

/** The assembled object's checksum, when every chosen part carries one of the same algorithm. */
function objectChecksum(chosen: PartInfo[], wantFullObject: boolean): ChecksumValue | undefined {
  const first = chosen[0]?.checksum;
  if (!first || !chosen.every((p) => p.checksum?.algorithm === first.algorithm)) return undefined;
  const algorithm = first.algorithm;
  const full = isCrcAlgorithm(algorithm) && (wantFullObject || algorithm === 'CRC64NVME');
  if (full) {
    let crc: Buffer = Buffer.from(chosen[0].checksum!.value, 'base64');
    for (const p of chosen.slice(1)) crc = crcCombine(algorithm, crc, Buffer.from(p.checksum!.value, 'base64'), p.size);
    return { algorithm, value: crc.toString('base64'), type: 'FULL_OBJECT' };
  }
  const composite = compositeChecksum(algorithm, chosen.map((p) => p.checksum!.value));
  return { algorithm, value: composite.slice(0, composite.lastIndexOf('-')), type: 'COMPOSITE' };
}

export async function handleCompleteMultipartUpload(ctx: S3Context<Ep<'CompleteMultipartUpload'>>): Promise<S3Reply> {
  const { bucket, key, uploadId } = ctx.endpoint;
  const ub = uploadBody(ctx.req, ctx.auth, { maxSize: MAX_COMPLETE_BODY, verifyMd5: true });
  const text = (await withBody(ub, () => readBounded(ub.body, MAX_COMPLETE_BODY))).toString('utf8');
  const requested = parseCompleteBody(text);
  const stored = await allParts(ctx);
  const chosen: PartInfo[] = [];
  for (const r of requested) {
    const p = stored.get(r.partNumber);
    if (p) {
      for (const [alg, value] of Object.entries(r.checksums)) {
        if (p.checksum && (p.checksum.algorithm !== alg || p.checksum.value !== value)) {
          throw new StoreError('InvalidPart', `The checksum of part ${r.partNumber} does not match the uploaded part.`);
        }
      }
      chosen.push(p);
    }
  }
  const options: Pick<PutOptions, 'ifNoneMatch' | 'ifMatch' | 'checksum'> = writeConditions(ctx);
  const wantFull = header(ctx.req, 'x-amz-checksum-type')?.toUpperCase() === 'FULL_OBJECT';
  const checksum = chosen.length === requested.length ? objectChecksum(chosen, wantFull) : undefined;
  if (checksum) {
    // A full-object checksum the client computed itself must agree with the combined one.
    const claimed = header(ctx.req, checksumHeaderName(checksum.algorithm));
    if (claimed !== undefined && checksum.type === 'FULL_OBJECT' && claimed !== checksum.value) {
      throw s3Errors.badDigest(`The ${checksum.algorithm} you specified did not match the calculated checksum.`);
    }
    options.checksum = checksum;
  }
  const parts: CompletedPart[] = requested.map((r) => ({ partNumber: r.partNumber, etag: r.etag }));
  const info = await ctx.store.completeMultipartUpload(bucket, key, uploadId, parts, options);
  const children = [
    xmlElement('Location', `/${bucket}/${key}`),
    xmlElement('Bucket', bucket),
    xmlElement('Key', key),
    xmlElement('ETag', quoteEtag(info.etag)),
  ];
  if (info.checksum) {
    const suffix = info.checksum.type === 'COMPOSITE' ? `-${info.parts?.length ?? requested.length}` : '';
    children.push(xmlElement(`Checksum${info.checksum.algorithm}`, info.checksum.value + suffix));
    children.push(xmlElement('ChecksumType', info.checksum.type));
  }
  return { status: 200, body: s3Document('CompleteMultipartUploadResult', children) };
}

export async function handleAbortMultipartUpload(ctx: S3Context<Ep<'AbortMultipartUpload'>>): Promise<S3Reply> {
  const { bucket, key, uploadId } = ctx.endpoint;
  await ctx.store.abortMultipartUpload(bucket, key, uploadId);
  return { status: 204 };
}

export async function handleListParts(ctx: S3Context<Ep<'ListParts'>>): Promise<S3Reply> {
  const { bucket, key, uploadId, partNumberMarker, maxParts } = ctx.endpoint;
  const r = await ctx.store.listParts(bucket, key, uploadId, { partNumberMarker, maxParts });
  const owner = ownerXml(ctx.auth.user.accessKey);
  const children = [
    xmlElement('Bucket', bucket),
    xmlElement('Key', key),
    xmlElement('UploadId', uploadId),
    xmlElement('Initiator', [xmlElement('ID', ctx.auth.user.accessKey), xmlElement('DisplayName', ctx.auth.user.accessKey)]),
    owner,
    xmlElement('StorageClass', 'STANDARD'),
    xmlElement('PartNumberMarker', partNumberMarker ?? 0),
    xmlOpt('NextPartNumberMarker', r.nextPartNumberMarker),
    xmlElement('MaxParts', maxParts),
    xmlElement('IsTruncated', r.isTruncated),
    ...r.parts.map((p) =>
      xmlElement('Part', [
        xmlElement('PartNumber', p.partNumber),
        xmlElement('LastModified', isoDate(p.lastModified)),
        xmlElement('ETag', quoteEtag(p.etag)),
        xmlElement('Size', p.size),
        ...(p.checksum ? [xmlElement(`Checksum${p.checksum.algorithm}`, p.checksum.value)] : []),
      ]),
    ),
  ];
  return { status: 200, body: s3Document('ListPartsResult', children) };
}

export async function handleListMultipartUploads(ctx: S3Context<Ep<'ListMultipartUploads'>>): Promise<S3Reply> {
  const { bucket, params } = ctx.endpoint;
  const r = await ctx.store.listMultipartUploads(bucket, {
    prefix: params.prefix,
    delimiter: params.delimiter,
    keyMarker: params.keyMarker,
    uploadIdMarker: params.uploadIdMarker,
    maxUploads: params.maxUploads,
  });
  const enc = encoder(params.encodingType);
  const who = [xmlElement('ID', ctx.auth.user.accessKey), xmlElement('DisplayName', ctx.auth.user.accessKey)];
  const children = [
    xmlElement('Bucket', bucket),
    xmlElement('KeyMarker', enc(params.keyMarker ?? '')),
    xmlElement('UploadIdMarker', params.uploadIdMarker ?? ''),
    xmlOpt('NextKeyMarker', r.nextKeyMarker === undefined ? undefined : enc(r.nextKeyMarker)),
    xmlOpt('NextUploadIdMarker', r.nextUploadIdMarker),
    xmlElement('Prefix', enc(params.prefix ?? '')),
    xmlOpt('Delimiter', params.delimiter === undefined ? undefined : enc(params.delimiter)),
    xmlElement('MaxUploads', params.maxUploads),
    xmlElement('IsTruncated', r.isTruncated),
    xmlOpt('EncodingType', params.encodingType),
    ...r.uploads.map((u) =>
      xmlElement('Upload', [
        xmlElement('Key', enc(u.key)),
        xmlElement('UploadId', u.uploadId),
        xmlElement('Initiator', who),
        xmlElement('Owner', who),
        xmlElement('StorageClass', 'STANDARD'),
        xmlElement('Initiated', isoDate(u.initiated)),
      ]),
    ),
    ...r.commonPrefixes.map((p) => xmlElement('CommonPrefixes', [xmlElement('Prefix', enc(p))])),
  ];
  return { status: 200, body: s3Document('ListMultipartUploadsResult', children) };
}
