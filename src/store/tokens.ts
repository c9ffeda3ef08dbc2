import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { assertPrintable } from '../core/control-chars.js';
import { bwkError } from '../core/errors.js';
import { newId, nowIso } from '../common/ids.js';

export type TokenRole = 'admin' | 'member';

/** A token as listed: never the secret, which is shown once at creation and stored only hashed. */
export interface TokenRecord {
  id: string;
  project_id: string;
  role: TokenRole;
  description: string;
  created_at: string;
  /** When the token stops authenticating; null: never (every token made before expiries existed). */
  expires_at: string | null;
  /** When it last authenticated a request, to within api.token_use_interval_ms (not written on every request); null: never. */
  last_used_at: string | null;
}

/** What a new token is: its project, role and, optionally, description and expiry. */
export interface NewToken {
  project_id: string;
  role: TokenRole;
  description?: string;
  /** ISO-8601 time after which the token is refused (BWK_ERR_TOKEN_EXPIRED); absent: it never expires. */
  expires_at?: string;
}

export interface TokenRow extends TokenRecord {
  token_hash: string;
}

export interface TokenDatabase {
  tokens: TokenRow;
}

/** The token port: API authentication. */
export interface TokenStore {
  /** Creates a token and returns it with its secret — the only time the secret exists outside its holder. */
  createToken(input: NewToken): Promise<{ token: string; record: TokenRecord }>;
  /**
   * The record of a presented secret, or null when no token has it. An expired token is returned
   * as it is (the caller refuses it, saying why). See findToken below for why this is constant-time.
   */
  findToken(secret: string): Promise<TokenRecord | null>;
  listTokens(projectId: string | null): Promise<TokenRecord[]>;
  /** Records that the token authenticated a request at `at` (ISO-8601); nothing when it is gone. */
  markTokenUsed(id: string, at: string): Promise<void>;
  /** Revokes a token; BWK_ERR_TOKEN_NOT_FOUND when it does not exist. */
  deleteToken(id: string): Promise<void>;
}

/**
 * Secrets are 256 random bits, so a plain SHA-256 is a sound hash (no password stretching needed):
 * the database never holds anything that authenticates. The prefix makes tokens recognisable in
 * leaked-secret scanners.
 */
const PREFIX = 'bwk_';
const LISTED = ['id', 'project_id', 'role', 'description', 'created_at', 'expires_at', 'last_used_at'] as const;
export const hashToken = (secret: string): string => createHash('sha256').update(secret).digest('hex');

export class KyselyTokenStore implements TokenStore {
  constructor(private readonly db: Kysely<TokenDatabase>) {}

  async createToken(input: NewToken): Promise<{ token: string; record: TokenRecord }> {
    assertPrintable('token description', input.description);
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(input.project_id))
      throw bwkError('BWK_ERR_INVALID_INPUT', { reason: 'project must be 1-64 letters, digits, "_", "." or "-"' });
    if (input.role !== 'admin' && input.role !== 'member')
      throw bwkError('BWK_ERR_INVALID_INPUT', { reason: 'role must be admin or member' });
    const token = PREFIX + randomBytes(32).toString('base64url');
    const record: TokenRecord = {
      id: newId(),
      project_id: input.project_id,
      role: input.role,
      description: input.description ?? '',
      created_at: nowIso(),
      expires_at: input.expires_at ?? null,
      last_used_at: null,
    };
    await this.db
      .insertInto('tokens')
      .values({ ...record, token_hash: hashToken(token) })
      .execute();
    return { token, record };
  }

  /**
   * Why this leaks nothing through timing: the database is searched by the SHA-256 of the secret,
   * never by the secret, so how long the index lookup takes depends on the hash, which an attacker
   * cannot steer towards a stored one byte by byte (finding a prefix match is a preimage search).
   * The one comparison of stored and computed values in this process is timingSafeEqual on equal
   * lengths (both are 64 hex characters), so it cannot end early either. The prefix and length checks
   * before it are on the shape of the secret, which is public.
   */
  async findToken(secret: string): Promise<TokenRecord | null> {
    if (!secret.startsWith(PREFIX) || secret.length > 200) return null;
    const hash = hashToken(secret);
    const row = await this.db.selectFrom('tokens').selectAll().where('token_hash', '=', hash).executeTakeFirst();
    if (!row || !sameHash(row.token_hash, hash)) return null;
    return Object.fromEntries(LISTED.map((k) => [k, row[k] ?? null])) as unknown as TokenRecord;
  }

  async listTokens(projectId: string | null): Promise<TokenRecord[]> {
    let q = this.db
      .selectFrom('tokens')
      .select([...LISTED])
      .orderBy('created_at')
      .orderBy('id');
    if (projectId !== null) q = q.where('project_id', '=', projectId);
    return q.execute();
  }

  async markTokenUsed(id: string, at: string): Promise<void> {
    await this.db.updateTable('tokens').set({ last_used_at: at }).where('id', '=', id).execute();
  }

  async deleteToken(id: string): Promise<void> {
    const r = await this.db.deleteFrom('tokens').where('id', '=', id).executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) throw bwkError('BWK_ERR_TOKEN_NOT_FOUND', { id });
  }
}

/** Constant-time equality of two hex digests (timingSafeEqual needs equal lengths: unequal ones differ). */
function sameHash(stored: string, computed: string): boolean {
  const a = Buffer.from(stored, 'utf8');
  const b = Buffer.from(computed, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
