// The README's CLI examples as written: `npx baton …` from a checkout, with subcommands and
// flags that exist.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { packageVersion } from '../src/common/package-root.js';
import { baton } from './support/cli.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const README = readFileSync(new URL('README.md', `file://${ROOT}`), 'utf8');

/** Each command of the README's shell examples (```sh lines, ```console lines after `$ `), split at `&&`, `|`, `;` and `<(`. */
function exampleCommands(markdown: string): string[] {
  const commands: string[] = [];
  let fence: string | undefined;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) {
      fence = fence === undefined ? line.slice(3) : undefined;
      continue;
    }
    let text: string | undefined;
    if (fence === 'sh') text = line;
    else if (fence === 'console' && line.startsWith('$ ')) text = line.slice(2);
    if (text === undefined) continue;
    const code = text.replace(/\s#.*$/, '');
    commands.push(...code.split(/&&|\||;|<\(|\$\(/).map((c) => c.trim()));
  }
  return commands.filter(Boolean);
}

/** `npx` as a user types it, except that it never installs a package from the registry. */
function npx(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['--no-install', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the README’s CLI examples', () => {
  const commands = exampleCommands(README);

  it('run baton as `npx baton`, never as a bare `baton` that is not on PATH after npm ci', () => {
    const uses = commands.filter((c) => /^(npx )?baton\b/.test(c));
    assert.ok(uses.length > 20, `the README has baton examples: ${uses.length}`);
    assert.deepEqual(
      uses.filter((c) => !c.startsWith('npx baton ')),
      [],
    );
  });

  it('`npx baton` runs the checkout’s CLI from its root and from a folder inside it', async () => {
    for (const cwd of [ROOT, `${ROOT}examples/jobs`]) {
      const r = await npx(['baton', '--version'], cwd);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), packageVersion());
    }
  });

  it('name subcommands and flags that exist', async () => {
    const helps = new Map<string, Promise<string>>();
    const help = (path: string[]): Promise<string> => {
      const key = path.join(' ');
      if (!helps.has(key))
        helps.set(
          key,
          baton([...path, '--help']).then((r) => (r.code === 0 ? r.stdout : '')),
        );
      return helps.get(key)!;
    };
    for (const command of commands.filter((c) => c.startsWith('npx baton '))) {
      const words = command.slice('npx baton '.length).split(/\s+/);
      const end = words.indexOf('--');
      const used = end < 0 ? words : words.slice(0, end);
      const path = [used[0]!];
      let text = await help(path);
      assert.ok(text, `${command}: \`baton ${path[0]}\` is a subcommand`);
      // Down the command tree while the next word is one of the listed subcommands (`certs issue worker`).
      for (const word of used.slice(1)) {
        const listed = text.includes('Commands:') && new RegExp(`^ {2}${word}\\b`, 'm').test(text.slice(text.indexOf('Commands:')));
        if (word.startsWith('-') || !listed) break;
        path.push(word);
        text = await help(path);
      }
      for (const flag of used.filter((w) => /^--?[a-z]/.test(w)).map((w) => w.replace(/=.*$/, ''))) {
        assert.match(text, new RegExp(`(^|[ ,])${flag}\\b`, 'm'), `${command}: \`baton ${path.join(' ')}\` has ${flag}`);
      }
    }
  });
});
