import { describeChunkStore } from '../contracts/chunk-store.contract.js';
import { emptyPrefix, ensureTestBucket, freshPrefix, requireS3, testS3Bank } from '../helpers/s3.js';

// The chunk store suite, unchanged, over the s3 bank on a real MinIO (scripts/minio-dev.sh).
const prefixes: string[] = [];
describeChunkStore(
  'an S3Bank on MinIO',
  () => {
    const prefix = freshPrefix('chunks');
    prefixes.push(prefix);
    return testS3Bank(prefix);
  },
  {
    before: async (ctx) => {
      requireS3(ctx);
      await ensureTestBucket();
    },
    after: async () => {
      for (const p of prefixes.splice(0)) await emptyPrefix(p);
    },
  },
);
