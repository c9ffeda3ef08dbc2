/**
 * Where a buffer's data lies once its 64 KiB blocks of zeros are left out. A restore writes only
 * these ranges and truncates the file to its full size at the end, so the zeros read back as holes
 * that take no disk space: sparse files (VM images, databases) stay sparse.
 */
export const HOLE_BLOCK = 64 * 1024;
const ZEROS = Buffer.alloc(HOLE_BLOCK);

/** [start, end) of each run of `data`'s blocks that are not all zeros, in order. */
export function* dataRuns(data: Buffer): Generator<[start: number, end: number]> {
  let runStart = -1;
  for (let at = 0; at < data.length; at += HOLE_BLOCK) {
    const block = data.subarray(at, at + HOLE_BLOCK);
    if (block.equals(block.length === HOLE_BLOCK ? ZEROS : ZEROS.subarray(0, block.length))) {
      if (runStart >= 0) yield [runStart, at];
      runStart = -1;
    } else if (runStart < 0) {
      runStart = at;
    }
  }
  if (runStart >= 0) yield [runStart, data.length];
}
