export { type ChunkerParams, chunkerParams, DEFAULT_AVG_CHUNK, MIN_AVG_CHUNK, MAX_AVG_CHUNK, WINDOW_SIZE, expectedMeanChunk } from './params.js';
export { Chunker, type ChunkerInit, CHUNKER_SEED_BYTES } from './chunker.js';
export { chunkStream } from './chunk-stream.js';
