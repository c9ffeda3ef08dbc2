import { describeEngineContract } from '../contracts/engine.contract.js';
import { ensureTestBucket, freshPrefix, requireS3, s3BankOptions } from '../helpers/s3.js';

// The engine operation contract, unchanged, with the provider's bank on S3 (MinIO) instead of the
// home's fs bank: leases, checkpoint records and plugin data all go through the s3 adapter.
describeEngineContract('local, bank on s3 (MinIO)', 'engine: local', {
  before: async (ctx) => {
    requireS3(ctx);
    await ensureTestBucket();
  },
  bank: () => ({ type: 's3', options: s3BankOptions(freshPrefix('engine')) }),
});
