// Spot checks of credential scoping with @aws-sdk/client-s3 v3: a credential minted by the
// credentials API (one call: bucket + credential), temporary credentials with a session
// token, revocation. The full matrix is tests/e2e/test_authz.py (boto3).
// Run from the repo root: node --test tests/js/
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  CopyObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = process.env.COFFER_BIN || path.join(REPO, 'bin', 'cofferd');
const ACCESS_KEY = 'CFTESTROOTKEY0000000';
const SECRET = 'cfTestRootSecretKey0123456789abcdefABCDE';
const TOKEN = 'cft_JsAuthzTestRootToken0123456789abcdefghijklm';
const MASTER_KEY = '0123456789abcdef'.repeat(4);
const BUCKET = 'js-authz';
const OTHER = 'js-authz-other';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port }, () => {
      sock.destroy();
      resolve(true);
    });
    sock.on('error', () => resolve(false));
  });
}

class Cofferd {
  async start() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-js-authz-'));
    this.port = await freePort();
    this.adminPort = await freePort();
    this.stderrPath = path.join(this.dir, 'stderr.log');
    const env = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (!k.startsWith('COFFER_') && !k.startsWith('AWS_')) env[k] = v;
    }
    Object.assign(env, {
      COFFER_ROOT_ACCESS_KEY_ID: ACCESS_KEY,
      COFFER_ROOT_SECRET_ACCESS_KEY: SECRET,
      COFFER_ROOT_TOKEN: TOKEN,
      COFFER_MASTER_KEY: MASTER_KEY,
    });
    const out = fs.openSync(path.join(this.dir, 'stdout.log'), 'w');
    const err = fs.openSync(this.stderrPath, 'w');
    this.proc = spawn(BIN, [
      '--listen', `127.0.0.1:${this.port}`,
      '--admin-listen', `127.0.0.1:${this.adminPort}`,
      '--data', path.join(this.dir, 'data'),
      '--region', 'us-east-1',
    ], { env, stdio: ['ignore', out, err] });
    fs.closeSync(out);
    fs.closeSync(err);
    this.exit = new Promise((resolve) => this.proc.on('exit', (code, signal) => resolve({ code, signal })));
    this.exited = null;
    this.exit.then((e) => { this.exited = e; });
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (this.exited) throw new Error(`cofferd exited early: ${JSON.stringify(this.exited)}\n${this.log()}`);
      if (await canConnect(this.port) && await canConnect(this.adminPort)) return;
      if (Date.now() > deadline) throw new Error(`cofferd did not listen:\n${this.log()}`);
      await sleep(50);
    }
  }

  get endpoint() {
    return `http://127.0.0.1:${this.port}`;
  }

  log() {
    return fs.readFileSync(this.stderrPath, 'utf8');
  }

  // The admin API with the root token (or another).
  async api(method, p, body, token = TOKEN) {
    const res = await fetch(`http://127.0.0.1:${this.adminPort}${p}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : null };
  }

  // SIGTERM, wait, then everything wrong with the log or the exit. secrets: none may be logged.
  async stop(secrets) {
    if (!this.proc) return [];
    const problems = [];
    if (!this.exited) {
      this.proc.kill('SIGTERM');
      let timer;
      const timeout = new Promise((r) => { timer = setTimeout(() => r('timeout'), 30_000); });
      const first = await Promise.race([this.exit, timeout]);
      clearTimeout(timer);
      if (first === 'timeout') {
        problems.push('cofferd did not exit within 30 s of SIGTERM');
        this.proc.kill('SIGKILL');
        await this.exit;
      }
    }
    const { code, signal } = this.exited;
    if (signal && signal !== 'SIGTERM') problems.push(`cofferd died of ${signal}`);
    if (code) problems.push(`cofferd exited with status ${code}`);
    const text = this.log();
    for (const line of text.split('\n')) {
      if (line.includes(' ERROR ')) problems.push(`ERROR line: ${line}`);
      for (const bad of ['AddressSanitizer', 'LeakSanitizer', 'runtime error:']) {
        if (line.includes(bad)) problems.push(`sanitizer report: ${line}`);
      }
    }
    for (const s of secrets) if (s && text.includes(s)) problems.push('a secret appears in the log');
    this.proc = null;
    return problems;
  }

  cleanup() {
    if (this.proc && !this.exited) this.proc.kill('SIGKILL');
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function client(server, accessKeyId, secretAccessKey, sessionToken) {
  return new S3Client({
    endpoint: server.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey, sessionToken },
    maxAttempts: 1,
  });
}

// Resolves to the error's S3 code and status; fails if the command succeeds.
async function refused(s3, command) {
  try {
    await s3.send(command);
  } catch (e) {
    return [e.name, e.$metadata?.httpStatusCode];
  }
  assert.fail(`${command.constructor.name} succeeded but should have been refused`);
}

describe('credential scoping with @aws-sdk/client-s3', () => {
  const server = new Cofferd();
  const secrets = [SECRET, TOKEN];
  const clients = [];
  let root;
  let ro; // object-read-only on BUCKET, prefix in/ (made with the bucket, one call)
  let rw; // object-read-write on BUCKET
  let roCred;
  let rwCred;

  const track = (c) => { clients.push(c); return c; };
  const keep = (cred) => {
    secrets.push(cred.secret_access_key, cred.token, cred.session_token);
    return cred;
  };

  before(async () => {
    await server.start();
    root = track(client(server, ACCESS_KEY, SECRET));
    const made = await server.api('POST', '/v1/buckets', {
      name: BUCKET,
      credential: { name: 'js-ro', permission: 'object-read-only', prefixes: ['in/'] },
    });
    assert.equal(made.status, 201, JSON.stringify(made.json));
    roCred = keep(made.json.credential);
    const other = await server.api('POST', '/v1/buckets', { name: OTHER });
    assert.equal(other.status, 201, JSON.stringify(other.json));
    const w = await server.api('POST', '/v1/credentials', {
      name: 'js-rw', permission: 'object-read-write', buckets: [BUCKET],
    });
    assert.equal(w.status, 201, JSON.stringify(w.json));
    rwCred = keep(w.json);
    await root.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'in/a.txt', Body: 'inside' }));
    await root.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'out/b.txt', Body: 'outside' }));
    await root.send(new PutObjectCommand({ Bucket: OTHER, Key: 'x.txt', Body: 'other' }));
    ro = track(client(server, roCred.id, roCred.secret_access_key));
    rw = track(client(server, rwCred.id, rwCred.secret_access_key));
  });

  after(async () => {
    for (const c of clients) c.destroy();
    const problems = await server.stop(secrets);
    server.cleanup();
    assert.deepEqual(problems, []);
  });

  it('lists exactly the scoped bucket', async () => {
    const r = await ro.send(new ListBucketsCommand({}));
    assert.deepEqual(r.Buckets.map((b) => b.Name), [BUCKET]);
    const all = await root.send(new ListBucketsCommand({}));
    assert.deepEqual(all.Buckets.map((b) => b.Name).sort(), [BUCKET, OTHER]);
  });

  it('reads inside the prefix and nothing else', async () => {
    const got = await ro.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'in/a.txt' }));
    assert.equal(await got.Body.transformToString(), 'inside');
    assert.deepEqual(await refused(ro, new GetObjectCommand({ Bucket: BUCKET, Key: 'out/b.txt' })),
      ['AccessDenied', 403]);
    assert.deepEqual(await refused(ro, new GetObjectCommand({ Bucket: OTHER, Key: 'x.txt' })),
      ['AccessDenied', 403]);
    const [, status] = await refused(ro, new HeadObjectCommand({ Bucket: BUCKET, Key: 'out/b.txt' }));
    assert.equal(status, 403);
  });

  it('lists only under its prefix', async () => {
    const r = await ro.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'in/' }));
    assert.deepEqual(r.Contents.map((o) => o.Key), ['in/a.txt']);
    assert.deepEqual(await refused(ro, new ListObjectsV2Command({ Bucket: BUCKET })),
      ['AccessDenied', 403]);
    assert.deepEqual(await refused(ro, new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'out/' })),
      ['AccessDenied', 403]);
  });

  it('cannot write when read-only', async () => {
    assert.deepEqual(await refused(ro, new PutObjectCommand({ Bucket: BUCKET, Key: 'in/new', Body: 'x' })),
      ['AccessDenied', 403]);
  });

  it('copies only with read on the source and write on the destination', async () => {
    await rw.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'in/copy', CopySource: `${BUCKET}/out/b.txt` }));
    const got = await root.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'in/copy' }));
    assert.equal(await got.Body.transformToString(), 'outside');
    assert.deepEqual(await refused(rw, new CopyObjectCommand({
      Bucket: BUCKET, Key: 'in/copy2', CopySource: `${OTHER}/x.txt`,
    })), ['AccessDenied', 403]);
    assert.deepEqual(await refused(rw, new CopyObjectCommand({
      Bucket: OTHER, Key: 'copy', CopySource: `${BUCKET}/in/a.txt`,
    })), ['AccessDenied', 403]);
    assert.deepEqual(await refused(ro, new CopyObjectCommand({
      Bucket: BUCKET, Key: 'in/copy3', CopySource: `${BUCKET}/in/a.txt`,
    })), ['AccessDenied', 403]);
  });

  it('uses temporary credentials with a session token, presigned too', async () => {
    const t = await server.api('POST', '/v1/temporary-credentials', {
      ttl_seconds: 600, permission: 'object-read-only', buckets: [BUCKET],
    });
    assert.equal(t.status, 201, JSON.stringify(t.json));
    keep(t.json);
    const temp = track(client(server, t.json.access_key_id, t.json.secret_access_key, t.json.session_token));
    const got = await temp.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'out/b.txt' }));
    assert.equal(await got.Body.transformToString(), 'outside');
    assert.deepEqual(await refused(temp, new PutObjectCommand({ Bucket: BUCKET, Key: 'x', Body: 'x' })),
      ['AccessDenied', 403]);
    const url = await getSignedUrl(temp, new GetObjectCommand({ Bucket: BUCKET, Key: 'in/a.txt' }), { expiresIn: 300 });
    assert.match(url, /X-Amz-Security-Token=/);
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'inside');
    // A tampered token is refused.
    const tok = t.json.session_token;
    const i = tok.length >> 1;
    const bad = tok.slice(0, i) + (tok[i] === 'A' ? 'B' : 'A') + tok.slice(i + 1);
    const tampered = track(client(server, t.json.access_key_id, t.json.secret_access_key, bad));
    assert.deepEqual(await refused(tampered, new GetObjectCommand({ Bucket: BUCKET, Key: 'in/a.txt' })),
      ['InvalidToken', 400]);
  });

  it('refuses a revoked credential on its next request', async () => {
    const got = await rw.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'in/a.txt' }));
    await got.Body.transformToString();
    const del = await server.api('DELETE', `/v1/credentials/${rwCred.id}`);
    assert.equal(del.status, 200, JSON.stringify(del.json));
    assert.deepEqual(await refused(rw, new GetObjectCommand({ Bucket: BUCKET, Key: 'in/a.txt' })),
      ['InvalidAccessKeyId', 403]);
  });
});
