import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/tessera.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  /** Standard error without the "Using the …" line, which is in `using`. */
  stderr: string;
  /** What the command said it used ("SQLite database /…/tessera.db", "server https://…"); undefined when it said nothing. */
  using: string | undefined;
}

const USING = /^Using the (.+)\n/m;

/** Runs the real CLI (`node bin/tessera.js …`) with the given environment. */
export function runCli(args: string[], env: Record<string, string>, stdin?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', LOG_LEVEL: 'warn', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr: stderr.replace(USING, ''), using: USING.exec(stderr)?.[1] }));
    child.stdin.end(stdin ?? '');
  });
}
