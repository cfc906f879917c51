import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 'v1';

/**
 * Authenticated encryption (AES-256-GCM) of small secrets at rest, with a key derived from
 * the instance secret per purpose, so that a ciphertext of one purpose never opens as another.
 */
export class SecretBox {
  readonly #keys = new Map<string, Buffer>();
  constructor(private readonly instanceSecret: string) {}

  #key(purpose: string): Buffer {
    let key = this.#keys.get(purpose);
    if (key === undefined) {
      key = Buffer.from(hkdfSync('sha256', this.instanceSecret, 'tessera', `tessera:${purpose}`, 32));
      this.#keys.set(purpose, key);
    }
    return key;
  }

  seal(purpose: string, plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key(purpose), iv);
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64url'), data.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
  }

  /** Throws when the box was sealed with another secret or purpose, or was tampered with. */
  open(purpose: string, sealed: string): string {
    const [version, iv, data, tag] = sealed.split('.');
    if (version !== VERSION || iv === undefined || data === undefined || tag === undefined) {
      throw new Error(`sealed value for ${purpose} has an unknown format`);
    }
    const decipher = createDecipheriv('aes-256-gcm', this.#key(purpose), Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    try {
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new Error(`cannot decrypt ${purpose}: the instance secret (TESSERA_SECRET) differs from the one it was sealed with`);
    }
  }
}
