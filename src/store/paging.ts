/** Paging every catalog listing shares (keyset by created_at then id). */
/** Paging shared by every listing. */
export interface PageQuery {
  /** Only records of this project; null lists every project (admin). */
  projectId: string | null;
  /**
   * At most this many records (a positive integer). Absent: the store's default page size
   * (`paging.default_limit`); above the store's maximum (`paging.max_limit`): clamped to it. No
   * listing returns a whole table: callers page with `marker` until a page comes back empty.
   */
  limit?: number;
  /**
   * Id of the last record of the previous page: the page starts right after it (exclusive), in the
   * requested order. An id that is unknown or not visible to `projectId` is BWK_ERR_INVALID_INPUT.
   */
  marker?: string;
  /**
   * Instead of `marker`: the page starts right after this position in the requested order. Lets a
   * listing that merges several kinds of record (operation logs) page each kind from one marker.
   * Giving both is BWK_ERR_INVALID_INPUT.
   */
  after?: ListPosition;
  /** Order by created_at then id; `desc` (newest first) by default. */
  sort?: 'asc' | 'desc';
}

/** Where a record sits in a listing's (created_at, id) order. */
export interface ListPosition {
  created_at: string;
  id: string;
}
