/**
 * `peerstor status`: what can be known without disturbing a running gateway. It reads the -v
 * volumes strictly read-only (file-system space through statfs, and the fragment files under
 * `fragments/` per the layout documented in backend/fragments/disk-fragment-store.ts; it never
 * opens them as a FragmentStore, which would empty tmp/ under a running writer), asks
 * --gateway's /-/ready whether it is ready, and its /-/status for the peer network: peers (id,
 * address, capacity, free, lastSeen) and chunk health {total, healthy, degraded, lost} (a
 * single-peer gateway serves no /-/status: `peers` is then [] and `chunks` null). Exit status 0
 * when the gateway answered and did not say it is not ready, 1 otherwise.
 */
import { lstat, opendir, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { formatSize } from '../../backend/core/sizes.js';
import type { CliConfig } from '../config.js';
import type { CliIo } from '../io.js';

const PROBE_TIMEOUT_MS = 5000;

export interface VolumeStatus {
  path: string;
  mode: 'rw' | 'ro';
  quota?: number;
  exists: boolean;
  fsTotal?: number;
  fsFree?: number;
  fragments: number;
  fragmentBytes: number;
}

export interface GatewayStatus {
  url: string;
  reachable: boolean;
  httpStatus?: number;
  /** from /-/ready, when the gateway serves it */
  ready?: boolean;
  reasons?: string[];
  error?: string;
}

/** One peer as the gateway's /-/status reports it (backend/network/status.ts PeerStatus). */
export interface PeerReport {
  id: string;
  address: string;
  host?: string;
  capacity: number;
  free: number;
  lastSeen: string;
  healthy?: boolean;
}

export interface ChunkReport {
  total: number;
  healthy: number;
  degraded: number;
  lost: number;
}

export interface StatusReport {
  /** the gateway's peers; [] when it serves no /-/status (single-peer store) or did not answer */
  peers: PeerReport[];
  /** chunk health; null when unknown */
  chunks: ChunkReport | null;
  volumes: VolumeStatus[];
  stateDir?: string;
  stateDirExists?: boolean;
  gateway: GatewayStatus;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

async function countFiles(dir: string, acc: { files: number; bytes: number }, depth: number): Promise<void> {
  let handle;
  try {
    handle = await opendir(dir);
  } catch {
    return;
  }
  for await (const entry of handle) {
    const p = join(dir, entry.name);
    if (entry.isDirectory() && depth > 0) await countFiles(p, acc, depth - 1);
    else if (entry.isFile()) {
      try {
        acc.bytes += (await lstat(p)).size;
        acc.files++;
      } catch {
        // deleted while we looked: not counted
      }
    }
  }
}

export async function volumeStatus(v: { path: string; mode: 'rw' | 'ro'; quota?: number }, quota?: number): Promise<VolumeStatus> {
  const s: VolumeStatus = { path: v.path, mode: v.mode, exists: await exists(v.path), fragments: 0, fragmentBytes: 0 };
  const q = v.quota ?? quota;
  if (q !== undefined) s.quota = q;
  if (!s.exists) return s;
  try {
    const fs = await statfs(v.path);
    s.fsTotal = fs.blocks * fs.bsize;
    s.fsFree = fs.bavail * fs.bsize;
  } catch {
    // statfs unsupported here: leave the space unknown
  }
  const acc = { files: 0, bytes: 0 };
  await countFiles(join(v.path, 'fragments'), acc, 2);
  s.fragments = acc.files;
  s.fragmentBytes = acc.bytes;
  return s;
}

/** Asks the gateway's /-/ready: any HTTP answer means reachable; its JSON says whether it is ready. */
export async function probeGateway(url: URL): Promise<GatewayStatus> {
  try {
    const res = await fetch(new URL('/-/ready', url), { method: 'GET', signal: AbortSignal.timeout(PROBE_TIMEOUT_MS), redirect: 'manual' });
    const status: GatewayStatus = { url: url.href, reachable: true, httpStatus: res.status };
    const body = await res.text().catch(() => '');
    try {
      const r = JSON.parse(body) as { ok?: unknown; reasons?: unknown };
      if (typeof r.ok === 'boolean') {
        status.ready = r.ok;
        if (Array.isArray(r.reasons)) status.reasons = r.reasons.map(String);
      }
    } catch {
      // not a PeerStor ops endpoint: reachability is all we know
    }
    return status;
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { url: url.href, reachable: false, error: cause?.code ?? cause?.message ?? (err as Error).message };
  }
}

/** The gateway's /-/status (peer network view), or undefined when it serves none or does not answer. */
export async function fetchNetworkStatus(url: URL): Promise<{ peers: PeerReport[]; chunks: ChunkReport | null } | undefined> {
  try {
    const res = await fetch(new URL('/-/status', url), { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS), redirect: 'manual' });
    if (res.status !== 200) {
      await res.body?.cancel();
      return undefined;
    }
    const body = (await res.json()) as { peers?: unknown; chunks?: unknown };
    if (!Array.isArray(body.peers)) return undefined;
    const c = body.chunks as ChunkReport | undefined;
    const chunks = c && typeof c.total === 'number' ? { total: c.total, healthy: c.healthy, degraded: c.degraded, lost: c.lost } : null;
    return { peers: body.peers as PeerReport[], chunks };
  } catch {
    return undefined;
  }
}

export async function runStatus(config: CliConfig, io: CliIo): Promise<number> {
  const gateway = await probeGateway(config.gateway);
  const network = gateway.reachable ? await fetchNetworkStatus(config.gateway) : undefined;
  const report: StatusReport = {
    peers: network?.peers ?? [],
    chunks: network?.chunks ?? null,
    volumes: await Promise.all(config.volumes.map((v) => volumeStatus(v, config.quota))),
    gateway,
  };
  if (config.stateDir) {
    report.stateDir = config.stateDir;
    report.stateDirExists = await exists(config.stateDir);
  }
  if (config.json) {
    io.stdout(JSON.stringify(report) + '\n');
  } else {
    const g = report.gateway;
    const state = !g.reachable
      ? `not reachable (${g.error})`
      : g.ready === undefined
        ? `answers (HTTP ${g.httpStatus}) but has no /-/ready`
        : g.ready
          ? 'ready'
          : `not ready: ${(g.reasons ?? []).join('; ')}`;
    const lines = [`gateway ${g.url}: ${state}`];
    if (report.chunks) {
      const c = report.chunks;
      lines.push(`chunks: ${c.total} total, ${c.healthy} healthy, ${c.degraded} degraded, ${c.lost} lost`);
    }
    if (report.peers.length > 0) {
      const live = report.peers.filter((p) => p.healthy !== false).length;
      lines.push(`peers: ${report.peers.length} known, ${live} healthy`);
      for (const p of report.peers) {
        const health = p.healthy === false ? 'DEAD' : 'ok';
        lines.push(`  ${p.id} ${p.address} ${health}: ${formatSize(p.free)} free of ${formatSize(p.capacity)}, last seen ${p.lastSeen}`);
      }
    }
    for (const v of report.volumes) {
      if (!v.exists) {
        lines.push(`volume ${v.path} (${v.mode}): missing`);
        continue;
      }
      const space = v.fsTotal !== undefined ? `, file system ${formatSize(v.fsFree!)} free of ${formatSize(v.fsTotal)}` : '';
      const quota = v.quota !== undefined ? `, quota ${formatSize(v.quota)}` : '';
      lines.push(`volume ${v.path} (${v.mode}): ${v.fragments} fragments, ${formatSize(v.fragmentBytes)}${quota}${space}`);
    }
    if (report.stateDir) lines.push(`state ${report.stateDir}: ${report.stateDirExists ? 'present' : 'missing'}`);
    io.stdout(lines.join('\n') + '\n');
  }
  return report.gateway.reachable && report.gateway.ready !== false ? 0 : 1;
}
