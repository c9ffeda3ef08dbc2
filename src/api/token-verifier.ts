import type { Logger } from '../common/logging.js';
import { silentLogger } from '../common/logging.js';
import type { TokenStore } from '../store/tokens.js';
import type { TokenVerifier } from './auth.js';
import { TokenUseRecorder } from './token-use.js';

/**
 * The API's TokenVerifier on the catalog's token store: unknown secrets and expired tokens are
 * refused (the second saying so), and each accepted use is recorded (src/api/token-use.ts).
 */
export function tokenVerifier(tokens: TokenStore, opts: { logger?: Logger; useIntervalMs?: number } = {}): TokenVerifier {
  const uses = new TokenUseRecorder((id, at) => tokens.markTokenUsed(id, at), opts.logger ?? silentLogger, opts.useIntervalMs);
  return {
    async verify(secret) {
      const t = await tokens.findToken(secret);
      if (!t) return { refused: 'BWK_ERR_UNAUTHORIZED' };
      if (t.expires_at !== null && Date.parse(t.expires_at) <= Date.now()) return { refused: 'BWK_ERR_TOKEN_EXPIRED' };
      uses.used(t.id);
      return { principal: { tokenId: t.id, projectId: t.project_id, role: t.role } };
    },
  };
}
