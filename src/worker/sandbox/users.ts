/**
 * The user and group jobs run as: `--run-as USER[:GROUP]` resolved through the text of
 * /etc/passwd and /etc/group, and whether that user can reach a folder. Pure.
 */

export interface RunAs {
  user: string;
  uid: number;
  group: string;
  gid: number;
  home: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

function parsePasswd(text: string): PasswdEntry[] {
  return text
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 7 && !f[0]!.startsWith('#'))
    .map((f) => ({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]! }));
}

function parseGroup(text: string): { name: string; gid: number }[] {
  return text
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 3 && !f[0]!.startsWith('#'))
    .map((f) => ({ name: f[0]!, gid: Number(f[2]) }));
}

/** "nobody:nogroup", "nobody", "65534:65534" → ids; throws a sentence when a name is unknown. */
export function resolveRunAs(spec: string, passwd: string, group: string): RunAs {
  const [userPart, groupPart, extra] = spec.split(':');
  if (!userPart || extra !== undefined || groupPart === '') throw new Error(`--run-as "${spec}" is not USER or USER:GROUP`);
  const users = parsePasswd(passwd);
  const groups = parseGroup(group);
  const user = /^\d+$/.test(userPart)
    ? (users.find((u) => u.uid === Number(userPart)) ?? { name: userPart, uid: Number(userPart), gid: NaN, home: '/' })
    : users.find((u) => u.name === userPart);
  if (!user) throw new Error(`--run-as: user "${userPart}" does not exist on this machine (not in /etc/passwd); create it or name another with --run-as USER[:GROUP]`);
  let gid: number;
  let groupName: string;
  if (groupPart === undefined) {
    if (Number.isNaN(user.gid)) throw new Error(`--run-as: uid ${userPart} has no /etc/passwd entry, so name its group too (--run-as ${userPart}:GROUP)`);
    gid = user.gid;
    groupName = groups.find((g) => g.gid === gid)?.name ?? String(gid);
  } else if (/^\d+$/.test(groupPart)) {
    gid = Number(groupPart);
    groupName = groups.find((g) => g.gid === gid)?.name ?? groupPart;
  } else {
    const g = groups.find((x) => x.name === groupPart);
    if (!g) throw new Error(`--run-as: group "${groupPart}" does not exist on this machine (not in /etc/group)`);
    gid = g.gid;
    groupName = g.name;
  }
  return { user: user.name, uid: user.uid, group: groupName, gid, home: user.home };
}

export interface FolderStat {
  path: string;
  mode: number;
  uid: number;
  gid: number;
}

/** Does `who` have all of `bits` (4 read, 2 write, 1 search) on it? Classic mode bits only (ACLs are not looked at). */
export function permits(stat: FolderStat, who: { uid: number; gid: number }, bits: number): boolean {
  if (who.uid === 0) return true;
  const shift = stat.uid === who.uid ? 6 : stat.gid === who.gid ? 3 : 0;
  return ((stat.mode >> shift) & bits) === bits;
}

/**
 * Why `who` cannot list and read the jobs folder, or undefined when it can: every folder
 * from / down must be searchable, the last also readable. `chain` is those folders, top first.
 */
export function folderAccessProblem(chain: FolderStat[], who: RunAs): string | undefined {
  for (const [i, stat] of chain.entries()) {
    const last = i === chain.length - 1;
    const bits = last ? 5 : 1;
    if (!permits(stat, who, bits)) {
      const mode = (stat.mode & 0o777).toString(8).padStart(3, '0');
      return `${who.user} cannot ${last ? 'read' : 'enter'} ${stat.path} (mode ${mode}, owner ${stat.uid}:${stat.gid})`;
    }
  }
  return undefined;
}
