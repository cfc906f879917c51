import { createHash, generateKeyPairSync, createPrivateKey, createPublicKey, type KeyObject, type JsonWebKey } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import type { Kysely } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import type { Transactions } from '../db/transactions.ts';
import type { Actor } from './principal.ts';
import type { SecretBox } from './secret-box.ts';

const PURPOSE = 'signing-key';
/** How often at most an unknown `kid` makes us look for keys made by another process. */
const RELOAD_INTERVAL_MS = 1000;

interface LoadedKey {
  kid: string;
  createdAt: string;
  publicKey: KeyObject;
  publicJwk: JsonWebKey;
  privateKey: KeyObject;
}

/**
 * The instance's Ed25519 signing keys. The newest is current (signs); all of them verify.
 * Keys are only ever resolved from here, by `kid`: never from a token's own headers.
 */
export class SigningKeyStore {
  #keys = new Map<string, LoadedKey>();
  #current: LoadedKey | undefined;
  #lastReload = 0;
  #reloading: Promise<void> | undefined;
  /** A read asked for while another was under way: it runs after that one, shared by every caller meanwhile. */
  #queued: Promise<void> | undefined;
  #etag = '';

  constructor(
    private readonly db: Kysely<Database>,
    private readonly box: SecretBox,
    private readonly clock: () => Date,
  ) {}

  /** Loads the keys, making the first one if there is none. */
  async init(): Promise<void> {
    await this.reload();
    if (this.#current === undefined) {
      await this.#insertNew(this.db);
      await this.reload();
    }
  }

  /** Makes a new current key, audited and announced to every process; older keys keep verifying what they signed. */
  async rotate(transactions: Transactions, actor: Actor): Promise<string> {
    const kid = await transactions.run(actor, async (work) => {
      const kid = await this.#insertNew(work.trx);
      work.audit({ category: 'signing-keys', resource: kid, resourceId: kid, action: 'rotate', detail: { kid } });
      work.announce({ kind: 'signing-key', id: kid });
      return kid;
    });
    await this.reload();
    return kid;
  }

  async #insertNew(db: Db): Promise<string> {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const publicJwk = publicKey.export({ format: 'jwk' });
    const kid = await calculateJwkThumbprint(publicJwk as Parameters<typeof calculateJwkThumbprint>[0]);
    // The newest key signs: keep creation times strictly increasing, even with a skewed or frozen clock.
    const latest = await db
      .selectFrom('signing_keys')
      .select((eb) => eb.fn.max('created_at').as('at'))
      .executeTakeFirst();
    const latestMs = latest?.at == null ? 0 : Date.parse(String(latest.at));
    const createdAt = new Date(Math.max(this.clock().getTime(), latestMs + 1)).toISOString();
    await db
      .insertInto('signing_keys')
      .values({
        kid,
        public_jwk: JSON.stringify(publicJwk),
        private_jwk_encrypted: this.box.seal(PURPOSE, JSON.stringify(privateKey.export({ format: 'jwk' }))),
        created_at: createdAt,
      })
      .execute();
    return kid;
  }

  /**
   * Re-reads the keys (another process may have rotated). A call while a read is under way
   * waits for one more read after it (that read may have begun before the change that asks for
   * this one); every such call shares that second read.
   */
  reload(): Promise<void> {
    if (this.#reloading === undefined) {
      this.#reloading = this.#read().finally(() => {
        this.#reloading = undefined;
      });
      return this.#reloading;
    }
    this.#queued ??= this.#reloading
      .catch(() => {})
      .then(() => {
        this.#queued = undefined;
        return this.reload();
      });
    return this.#queued;
  }

  /** Resolves when every read asked for so far is done. */
  async settled(): Promise<void> {
    while (this.#reloading !== undefined || this.#queued !== undefined) await (this.#queued ?? this.#reloading);
  }

  async #read(): Promise<void> {
    this.#lastReload = Date.now();
    const rows = await this.db.selectFrom('signing_keys').selectAll().orderBy('created_at', 'asc').orderBy('kid', 'asc').execute();
    const keys = new Map<string, LoadedKey>();
    for (const row of rows) {
      const known = this.#keys.get(row.kid);
      if (known !== undefined) {
        keys.set(row.kid, known);
        continue;
      }
      const publicJwk = JSON.parse(row.public_jwk) as JsonWebKey;
      keys.set(row.kid, {
        kid: row.kid,
        createdAt: row.created_at,
        publicJwk,
        publicKey: createPublicKey({ key: publicJwk, format: 'jwk' }),
        privateKey: createPrivateKey({ key: JSON.parse(this.box.open(PURPOSE, row.private_jwk_encrypted)), format: 'jwk' }),
      });
    }
    this.#keys = keys;
    this.#current = [...keys.values()].at(-1);
    this.#etag = `"${createHash('sha256')
      .update([...keys.keys()].join(','))
      .digest('base64url')
      .slice(0, 22)}"`;
  }

  current(): { kid: string; privateKey: KeyObject } {
    if (this.#current === undefined) throw new TypeError('SigningKeyStore.init() was not awaited');
    return this.#current;
  }

  /** The public key for a `kid` among the keys loaded now, without waiting (the verifier's fast path). */
  loadedVerificationKey(kid: string): KeyObject | undefined {
    return this.#keys.get(kid)?.publicKey;
  }

  /** The public key for a `kid`; an unknown `kid` makes at most one reload a second (another instance may have rotated). */
  async verificationKey(kid: string): Promise<KeyObject | undefined> {
    const key = this.#keys.get(kid);
    if (key !== undefined) return key.publicKey;
    if (this.#reloading !== undefined) {
      await this.#reloading;
      const reloaded = this.#keys.get(kid);
      if (reloaded !== undefined) return reloaded.publicKey;
    }
    if (Date.now() - this.#lastReload < RELOAD_INTERVAL_MS) return undefined;
    await this.reload();
    return this.#keys.get(kid)?.publicKey;
  }

  /** An entity tag of the JWK Set: it changes with the set of keys. */
  jwksEtag(): string {
    return this.#etag;
  }

  /** The JWK Set of public keys: no private member ever leaves this class. */
  jwks(): { keys: Array<{ kty: string; crv: string; x: string; kid: string; alg: string; use: string }> } {
    return {
      keys: [...this.#keys.values()].map((k) => ({
        kty: 'OKP',
        crv: 'Ed25519',
        x: String(k.publicJwk.x),
        kid: k.kid,
        alg: 'EdDSA',
        use: 'sig',
      })),
    };
  }
}
