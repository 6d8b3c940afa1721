// Multipart uploads with the current AWS SDK for JavaScript v3, unmodified: @aws-sdk/lib-storage's
// Upload (which creates the upload with CRC32 checksums by default and sends parts
// concurrently), the low-level multipart commands, and reads of the result.
// Run from the repo root: node --test tests/js/
// Starts its own cofferd (COFFER_BIN overrides bin/cofferd) on a free loopback port with a
// temporary data directory, and checks its log when it stops.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = process.env.COFFER_BIN || path.join(REPO, 'bin', 'cofferd');
const ACCESS_KEY = 'CFTESTROOTKEY0000000';
const SECRET = 'cfTestRootSecretKey0123456789abcdefABCDE';
const MASTER_KEY = '0123456789abcdef'.repeat(4);
const BUCKET = 'js-multipart-tests';
const MiB = 1024 * 1024;

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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Deterministic bytes from a seed (sha256 in counter mode).
function detBytes(seed, n) {
  const out = Buffer.alloc(n);
  let off = 0;
  for (let i = 0; off < n; i++) {
    const block = crypto.createHash('sha256').update(`${seed}/${i}`).digest();
    off += block.copy(out, off, 0, Math.min(block.length, n - off));
  }
  return out;
}

const md5 = (b) => crypto.createHash('md5').update(b).digest('hex');

class Cofferd {
  async start() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-js-'));
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
      if (await canConnect(this.port)) return;
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

  // SIGTERM, wait, then everything wrong with the log or the exit.
  async stop() {
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
    if (text.includes(SECRET)) problems.push('the root secret appears in the log');
    this.proc = null;
    return problems;
  }

  cleanup() {
    if (this.proc && !this.exited) this.proc.kill('SIGKILL');
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

const md5raw = (b) => crypto.createHash('md5').update(b).digest();

// The ETag S3 gives a multipart object: MD5 of the parts' MD5s, and the part count.
function multipartEtag(parts) {
  return `"${md5(Buffer.concat(parts.map(md5raw)))}-${parts.length}"`;
}

function split(data, size) {
  const out = [];
  for (let off = 0; off < data.length; off += size) out.push(data.subarray(off, Math.min(data.length, off + size)));
  return out;
}

async function bytes(body) {
  return Buffer.from(await body.transformToByteArray());
}

describe('cofferd multipart uploads with @aws-sdk/lib-storage and @aws-sdk/client-s3', () => {
  const server = new Cofferd();
  let s3;
  const sent = []; // every request as signed: [method, path, query, headers]

  before(async () => {
    await server.start();
    s3 = new S3Client({
      endpoint: server.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET },
      maxAttempts: 1,
    });
    s3.middlewareStack.add((next) => async (args) => {
      sent.push([args.request.method, args.request.path, { ...args.request.query }, { ...args.request.headers }]);
      return next(args);
    }, { step: 'deserialize', name: 'recordSignedRequests', priority: 'low' });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });

  after(() => {
    if (s3) s3.destroy();
    server.cleanup();
  });

  it('uploads a Buffer in concurrent parts with CRC32 checksums (lib-storage Upload)', async () => {
    const data = detBytes('lib-storage/buffer', 17 * MiB + 12345);
    const upload = new Upload({
      client: s3,
      params: { Bucket: BUCKET, Key: 'lib/buffer.bin', Body: data, ContentType: 'application/x-test', Metadata: { via: 'lib-storage' } },
      partSize: 5 * MiB,
      queueSize: 4,
    });
    const progress = [];
    upload.on('httpUploadProgress', (p) => progress.push(p.part));
    const res = await upload.done();
    const parts = split(data, 5 * MiB);
    assert.equal(parts.length, 4);
    assert.equal(res.ETag, multipartEtag(parts));
    assert.equal(res.Key, 'lib/buffer.bin');
    assert.match(res.ChecksumCRC32, /^[A-Za-z0-9+/]+=*-4$/);
    // The SDK asked for CRC32 at creation and sent a CRC32 with every part.
    const create = sent.find(([m, p, q]) => m === 'POST' && p.endsWith('/lib/buffer.bin') && 'uploads' in q);
    assert.equal(create[3]['x-amz-checksum-algorithm'], 'CRC32');
    const partReqs = sent.filter(([m, p, q]) => m === 'PUT' && p.endsWith('/lib/buffer.bin') && q.uploadId);
    assert.equal(partReqs.length, 4);
    for (const [, , , h] of partReqs) assert.ok(h['x-amz-checksum-crc32'] || h['x-amz-trailer'] === 'x-amz-checksum-crc32');
    assert.ok(progress.length >= 4);

    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'lib/buffer.bin', ChecksumMode: 'ENABLED' }));
    assert.equal(head.ContentLength, data.length);
    assert.equal(head.ContentType, 'application/x-test');
    assert.deepEqual(head.Metadata, { via: 'lib-storage' });
    assert.equal(head.ChecksumCRC32, res.ChecksumCRC32);
    assert.equal(head.ChecksumType, 'COMPOSITE');
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'lib/buffer.bin' }));
    assert.ok((await bytes(got.Body)).equals(data));
    for (let n = 1; n <= 4; n++) {
      const part = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'lib/buffer.bin', PartNumber: n }));
      assert.equal(part.PartsCount, 4);
      assert.equal(part.$metadata.httpStatusCode, 206);
      assert.ok((await bytes(part.Body)).equals(parts[n - 1]));
    }
    const range = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'lib/buffer.bin', Range: `bytes=${5 * MiB - 3}-${10 * MiB + 2}` }));
    assert.ok((await bytes(range.Body)).equals(data.subarray(5 * MiB - 3, 10 * MiB + 3)));
  });

  it('uploads a stream of unknown length (lib-storage Upload)', async () => {
    const data = detBytes('lib-storage/stream', 11 * MiB + 7);
    async function* pieces() {
      for (let off = 0; off < data.length; off += 300_001) yield data.subarray(off, Math.min(data.length, off + 300_001));
    }
    const res = await new Upload({
      client: s3, params: { Bucket: BUCKET, Key: 'lib/stream.bin', Body: Readable.from(pieces()) }, partSize: 5 * MiB,
    }).done();
    assert.equal(res.ETag, multipartEtag(split(data, 5 * MiB)));
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'lib/stream.bin' }));
    assert.equal(got.ContentLength, data.length);
    assert.ok((await bytes(got.Body)).equals(data));
  });

  it('sends a small body as one PutObject (lib-storage Upload)', async () => {
    const data = detBytes('lib-storage/small', 1000);
    const res = await new Upload({ client: s3, params: { Bucket: BUCKET, Key: 'lib/small.bin', Body: data } }).done();
    assert.equal(res.ETag, `"${md5(data)}"`);
  });

  it('completes a full-object CRC64NVME upload the SDK validates on GET', async () => {
    const Key = 'low/full.bin';
    const data = detBytes('full-object', 10 * MiB + 99);
    const parts = split(data, 5 * MiB);
    const { UploadId, ChecksumType } = await s3.send(new CreateMultipartUploadCommand({
      Bucket: BUCKET, Key, ChecksumAlgorithm: 'CRC64NVME', ChecksumType: 'FULL_OBJECT',
    }));
    assert.equal(ChecksumType, 'FULL_OBJECT');
    const done = [];
    for (let i = 0; i < parts.length; i++) {
      const r = await s3.send(new UploadPartCommand({
        Bucket: BUCKET, Key, UploadId, PartNumber: i + 1, Body: parts[i], ChecksumAlgorithm: 'CRC64NVME',
      }));
      assert.ok(r.ChecksumCRC64NVME);
      done.push({ PartNumber: i + 1, ETag: r.ETag, ChecksumCRC64NVME: r.ChecksumCRC64NVME });
    }
    const res = await s3.send(new CompleteMultipartUploadCommand({
      Bucket: BUCKET, Key, UploadId, MultipartUpload: { Parts: done },
    }));
    assert.equal(res.ChecksumType, 'FULL_OBJECT');
    assert.doesNotMatch(res.ChecksumCRC64NVME, /-/);
    // The same checksum as a single PutObject of the same bytes.
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'low/full-single.bin', Body: data, ChecksumAlgorithm: 'CRC64NVME' }));
    const single = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'low/full-single.bin', ChecksumMode: 'ENABLED' }));
    assert.equal(res.ChecksumCRC64NVME, single.ChecksumCRC64NVME);
    // GetObject with checksum mode: the SDK checks the body against it.
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key, ChecksumMode: 'ENABLED' }));
    assert.equal(got.ChecksumCRC64NVME, res.ChecksumCRC64NVME);
    assert.ok((await bytes(got.Body)).equals(data));
  });

  it('lists parts and uploads, copies a part, and aborts', async () => {
    const Key = 'low/listed.bin';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key }));
    const p1 = detBytes('listed/1', 5 * MiB);
    const r1 = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key, UploadId, PartNumber: 1, Body: p1 }));
    const cp = await s3.send(new UploadPartCopyCommand({
      Bucket: BUCKET, Key, UploadId, PartNumber: 2, CopySource: `${BUCKET}/lib/small.bin`, CopySourceRange: 'bytes=10-19',
    }));
    const small = detBytes('lib-storage/small', 1000).subarray(10, 20);
    assert.equal(cp.CopyPartResult.ETag, `"${md5(small)}"`);
    const lp = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key, UploadId }));
    assert.deepEqual(lp.Parts.map((p) => [p.PartNumber, p.ETag, p.Size]), [[1, r1.ETag, 5 * MiB], [2, cp.CopyPartResult.ETag, 10]]);
    const page = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key, UploadId, MaxParts: 1 }));
    assert.equal(page.IsTruncated, true);
    assert.equal(String(page.NextPartNumberMarker), '1');
    const lu = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'low/' }));
    assert.deepEqual(lu.Uploads.map((u) => [u.Key, u.UploadId]), [[Key, UploadId]]);

    await assert.rejects(s3.send(new CompleteMultipartUploadCommand({
      Bucket: BUCKET, Key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 2, ETag: cp.CopyPartResult.ETag }, { PartNumber: 1, ETag: r1.ETag }] },
    })), (e) => e.name === 'InvalidPartOrder');
    const aborted = await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key, UploadId }));
    assert.equal(aborted.$metadata.httpStatusCode, 204);
    await assert.rejects(s3.send(new ListPartsCommand({ Bucket: BUCKET, Key, UploadId })), (e) => {
      assert.equal(e.name, 'NoSuchUpload');
      assert.equal(e.$metadata.httpStatusCode, 404);
      return true;
    });
  });

  it('deletes in batches with DeleteObjectsCommand (the SDK adds its checksum)', async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `batch/ü ${i}`);
    for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: Key }));
    const res = await s3.send(new DeleteObjectsCommand({
      Bucket: BUCKET,
      Delete: { Objects: [...keys, 'batch/missing'].map((Key) => ({ Key })) },
    }));
    assert.deepEqual((res.Errors || []), []);
    assert.deepEqual(res.Deleted.map((d) => d.Key).sort(), [...keys, 'batch/missing'].sort());
    const quiet = await s3.send(new DeleteObjectsCommand({
      Bucket: BUCKET, Delete: { Quiet: true, Objects: [{ Key: 'batch/again' }] },
    }));
    assert.equal(quiet.Deleted, undefined);
    const left = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'batch/' }));
    assert.equal(left.KeyCount, 0);
  });

  it('deletes everything', async () => {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    const Objects = (page.Contents || []).map((o) => ({ Key: o.Key }));
    if (Objects.length) await s3.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects } }));
    await s3.send(new DeleteBucketCommand({ Bucket: BUCKET }));
  });

  it('stops cleanly with a clean log', async () => {
    const problems = await server.stop();
    assert.deepEqual(problems, []);
  });
});
