import { emptyPrefix, ensureTestBucket, freshPrefix, requireS3, testS3Bank } from '../helpers/s3.js';
import { describeBankContract } from './bank.contract.js';

// The same contract as fs and memory, unchanged, against a real S3 server (MinIO, scripts/minio-dev.sh).
describe('s3 bank on MinIO', function () {
  this.timeout(60_000);
  before(async function () {
    requireS3(this);
    await ensureTestBucket();
  });

  describeBankContract('S3Bank', async () => {
    const prefix = freshPrefix('contract');
    return { bank: testS3Bank(prefix), cleanup: () => emptyPrefix(prefix) };
  });
});
