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
  createToken(input: { project_id: string; role: TokenRole; description?: string }): Promise<{ token: string; record: TokenRecord }>;
  /** The record of a presented secret, or null. Constant-time on the hash comparison. */
  findToken(secret: string): Promise<TokenRecord | null>;
  listTokens(projectId: string | null): Promise<TokenRecord[]>;
  /** Revokes a token; BWK_ERR_TOKEN_NOT_FOUND when it does not exist. */
  deleteToken(id: string): Promise<void>;
}

/**
 * Secrets are 256 random bits, so a plain SHA-256 is a sound hash (no password stretching needed):
 * the database never holds anything that authenticates. The prefix makes tokens recognisable in
 * leaked-secret scanners.
 */
const PREFIX = 'bwk_';
export const hashToken = (secret: string): string => createHash('sha256').update(secret).digest('hex');

export class KyselyTokenStore implements TokenStore {
  constructor(private readonly db: Kysely<TokenDatabase>) {}

  async createToken(input: { project_id: string; role: TokenRole; description?: string }): Promise<{ token: string; record: TokenRecord }> {
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
    };
    await this.db
      .insertInto('tokens')
      .values({ ...record, token_hash: hashToken(token) })
      .execute();
    return { token, record };
  }

  async findToken(secret: string): Promise<TokenRecord | null> {
    if (!secret.startsWith(PREFIX) || secret.length > 200) return null;
    const hash = hashToken(secret);
    const row = await this.db.selectFrom('tokens').selectAll().where('token_hash', '=', hash).executeTakeFirst();
    if (!row || !timingSafeEqual(Buffer.from(row.token_hash), Buffer.from(hash))) return null;
    const { token_hash: _omit, ...record } = row;
    return record;
  }

  async listTokens(projectId: string | null): Promise<TokenRecord[]> {
    let q = this.db
      .selectFrom('tokens')
      .select(['id', 'project_id', 'role', 'description', 'created_at'])
      .orderBy('created_at')
      .orderBy('id');
    if (projectId !== null) q = q.where('project_id', '=', projectId);
    return q.execute();
  }

  async deleteToken(id: string): Promise<void> {
    const r = await this.db.deleteFrom('tokens').where('id', '=', id).executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) throw bwkError('BWK_ERR_TOKEN_NOT_FOUND', { id });
  }
}
