import assert from 'node:assert/strict';
import { uuidv7 } from '../../common/ids.js';
import { conformance } from '../../../test/support/store-conformance.js';
import { SqlTokenStore } from './sql-token-store.js';
import { TokenNameTaken, type TokenRecord, type TokenStore } from './token-store.js';

function newToken(name = `t-${uuidv7()}`, createdAt = 1): Omit<TokenRecord, 'revokedAt'> {
  return { id: uuidv7(), name, role: 'viewer', hash: `${'a'.repeat(28)}${uuidv7().replaceAll('-', '')}`, createdAt };
}

conformance<TokenStore>('TokenStore', SqlTokenStore, {
  createToken: {
    'a live name is taken (TokenNameTaken); a revoked name may be used again': async ({ tokens }) => {
      const token = newToken();
      await tokens.createToken(token);
      await assert.rejects(tokens.createToken(newToken(token.name)), TokenNameTaken);
      await tokens.revokeToken(token.name, 5);
      await tokens.createToken(newToken(token.name, 7));
      assert.equal((await tokens.listTokens()).filter((t) => t.name === token.name).length, 1);
    },
    'creators racing for one name: one wins, the others are TokenNameTaken (the unique index, past the check)': async ({ tokens }) => {
      const name = `t-${uuidv7()}`;
      const settled = await Promise.allSettled(Array.from({ length: 5 }, () => tokens.createToken(newToken(name))));
      assert.equal(settled.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of settled) if (r.status === 'rejected') assert.ok(r.reason instanceof TokenNameTaken, String(r.reason));
    },
  },
  listTokens: {
    'live tokens, oldest first; all of them with `all`': async ({ tokens }) => {
      const [older, newer, revoked] = [newToken(undefined, 10), newToken(undefined, 20), newToken(undefined, 15)];
      for (const t of [newer, revoked, older]) await tokens.createToken(t);
      await tokens.revokeToken(revoked.name, 30);
      const live = (await tokens.listTokens()).filter((t) => [older.id, newer.id, revoked.id].includes(t.id));
      assert.deepEqual(live, [
        { ...older, revokedAt: null },
        { ...newer, revokedAt: null },
      ]);
      const all = (await tokens.listTokens(true)).filter((t) => [older.id, newer.id, revoked.id].includes(t.id));
      assert.deepEqual(
        all.map((t) => [t.id, t.revokedAt]),
        [
          [older.id, null],
          [revoked.id, 30],
          [newer.id, null],
        ],
      );
    },
  },
  revokeToken: {
    'revokes the live token of that name, once; an unknown name is undefined': async ({ tokens }) => {
      const token = newToken();
      await tokens.createToken(token);
      assert.deepEqual(await tokens.revokeToken(token.name, 5), { ...token, revokedAt: 5 });
      assert.equal(await tokens.revokeToken(token.name, 6), undefined);
      assert.equal(await tokens.revokeToken(`t-${uuidv7()}`, 6), undefined);
      assert.equal((await tokens.listTokens(true)).find((t) => t.id === token.id)?.revokedAt, 5);
    },
  },
});
