// End-to-end tests of cofferd with the current AWS SDK for JavaScript v3, unmodified.
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
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
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
const MASTER_KEY = '0123456789abcdef'.repeat(4);
const BUCKET = 'js-sdk-tests';

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

describe('cofferd with @aws-sdk/client-s3', () => {
  const server = new Cofferd();
  let s3;
  const sent = []; // every request as signed: [method, path, headers]

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
      sent.push([args.request.method, args.request.path, { ...args.request.headers }]);
      return next(args);
    }, { step: 'deserialize', name: 'recordSignedRequests', priority: 'low' });
  });

  after(() => {
    if (s3) s3.destroy();
    server.cleanup();
  });

  it('creates and heads a bucket', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const head = await s3.send(new HeadBucketCommand({ Bucket: BUCKET }));
    assert.equal(head.$metadata.httpStatusCode, 200);
    const list = await s3.send(new ListBucketsCommand({}));
    assert.ok(list.Buckets.some((b) => b.Name === BUCKET));
  });

  it('puts and gets a string body', async () => {
    const text = 'hello from the JS SDK ✓';
    const put = await s3.send(new PutObjectCommand({
      Bucket: BUCKET, Key: 'string.txt', Body: text, ContentType: 'text/plain; charset=utf-8',
    }));
    assert.equal(put.ETag, `"${md5(Buffer.from(text))}"`);
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'string.txt' }));
    assert.equal(await got.Body.transformToString(), text);
    assert.equal(got.ContentType, 'text/plain; charset=utf-8');
  });

  it('puts and gets a Buffer body with metadata', async () => {
    const data = detBytes('buffer', 300_000);
    await s3.send(new PutObjectCommand({
      Bucket: BUCKET, Key: 'dir/buffer.bin', Body: data, Metadata: { origin: 'js', n: '1' },
      CacheControl: 'max-age=10',
    }));
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'dir/buffer.bin' }));
    const body = Buffer.from(await got.Body.transformToByteArray());
    assert.ok(body.equals(data));
    assert.deepEqual(got.Metadata, { origin: 'js', n: '1' });
    assert.equal(got.CacheControl, 'max-age=10');
    assert.equal(got.ETag, `"${md5(data)}"`);
  });

  it('puts a stream with ContentLength (aws-chunked with a CRC32 trailer) and gets it back', async () => {
    const size = 5 * 1024 * 1024 + 123;
    const data = detBytes('stream', size);
    async function* pieces() {
      for (let off = 0; off < size; off += 70_001) yield data.subarray(off, Math.min(size, off + 70_001));
    }
    const put = await s3.send(new PutObjectCommand({
      Bucket: BUCKET, Key: 'dir/stream.bin', Body: Readable.from(pieces()), ContentLength: size,
    }));
    assert.equal(put.ETag, `"${md5(data)}"`);
    const [, , headers] = sent.findLast(([m, p]) => m === 'PUT' && p.endsWith('/dir/stream.bin'));
    assert.equal(headers['x-amz-content-sha256'], 'STREAMING-UNSIGNED-PAYLOAD-TRAILER');
    assert.equal(headers['x-amz-trailer'], 'x-amz-checksum-crc32');
    assert.match(headers['content-encoding'], /aws-chunked/);
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'dir/stream.bin' }));
    assert.equal(got.ContentLength, size);
    assert.ok(Buffer.from(await got.Body.transformToByteArray()).equals(data));
  });

  it('heads an object', async () => {
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'dir/buffer.bin' }));
    assert.equal(head.ContentLength, 300_000);
    assert.equal(head.Metadata.origin, 'js');
    assert.ok(head.LastModified instanceof Date);
  });

  it('gets a range', async () => {
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'dir/buffer.bin', Range: 'bytes=100-199' }));
    assert.equal(got.ContentRange, 'bytes 100-199/300000');
    const body = Buffer.from(await got.Body.transformToByteArray());
    assert.ok(body.equals(detBytes('buffer', 300_000).subarray(100, 200)));
  });

  it('stores and lists unicode keys', async () => {
    const keys = ['ünï/日本 語+%.txt', 'ünï/😀 emoji', 'ünï/a//b', '/leading'];
    for (const Key of keys) {
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: Key }));
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key }));
      assert.equal(await got.Body.transformToString(), Key);
    }
    const list = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'ünï/' }));
    const expected = keys.filter((k) => k.startsWith('ünï/')).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    assert.deepEqual(list.Contents.map((o) => o.Key), expected);
  });

  it('lists with a delimiter', async () => {
    const list = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Delimiter: '/' }));
    assert.deepEqual((list.CommonPrefixes || []).map((p) => p.Prefix), ['/', 'dir/', 'ünï/']);
    assert.deepEqual((list.Contents || []).map((o) => o.Key), ['string.txt']);
    assert.equal(list.KeyCount, 4);
    assert.equal(list.IsTruncated, false);
    const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'dir/', MaxKeys: 1 }));
    assert.equal(page.IsTruncated, true);
    const next = await s3.send(new ListObjectsV2Command({
      Bucket: BUCKET, Prefix: 'dir/', MaxKeys: 1, ContinuationToken: page.NextContinuationToken,
    }));
    assert.deepEqual([page.Contents[0].Key, next.Contents[0].Key], ['dir/buffer.bin', 'dir/stream.bin']);
  });

  it('copies an object', async () => {
    await s3.send(new CopyObjectCommand({
      Bucket: BUCKET, Key: 'copy/ü.bin', CopySource: `${BUCKET}/${encodeURIComponent('dir/buffer.bin')}`,
    }));
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'copy/ü.bin' }));
    assert.ok(Buffer.from(await got.Body.transformToByteArray()).equals(detBytes('buffer', 300_000)));
    assert.deepEqual(got.Metadata, { origin: 'js', n: '1' });
  });

  it('presigns GET and PUT for fetch', async () => {
    const Key = 'presigned/ü q+r.txt';
    const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: BUCKET, Key }), { expiresIn: 300 });
    const put = await fetch(putUrl, { method: 'PUT', body: 'presigned upload' });
    assert.equal(put.status, 200, await put.text());
    const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: BUCKET, Key }), { expiresIn: 300 });
    const got = await fetch(getUrl);
    assert.equal(got.status, 200);
    assert.equal(await got.text(), 'presigned upload');
    const tampered = await fetch(getUrl.replace('presigned', 'presignee'));
    assert.equal(tampered.status, 403);
    assert.match(await tampered.text(), /SignatureDoesNotMatch/);
  });

  it('answers NoSuchKey and NoSuchBucket', async () => {
    await assert.rejects(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'missing' })), (e) => {
      assert.equal(e.name, 'NoSuchKey');
      assert.equal(e.$metadata.httpStatusCode, 404);
      assert.ok(e.$metadata.requestId);
      return true;
    });
    await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'missing' })), (e) => {
      assert.equal(e.$metadata.httpStatusCode, 404);
      return true;
    });
    await assert.rejects(s3.send(new ListObjectsV2Command({ Bucket: 'no-such-bucket-js' })), (e) => {
      assert.equal(e.name, 'NoSuchBucket');
      assert.equal(e.$metadata.httpStatusCode, 404);
      return true;
    });
    await assert.rejects(s3.send(new DeleteBucketCommand({ Bucket: BUCKET })), (e) => {
      assert.equal(e.name, 'BucketNotEmpty');
      return true;
    });
  });

  it('rejects a wrong secret', async () => {
    const bad = new S3Client({
      endpoint: server.endpoint, region: 'us-east-1', forcePathStyle: true, maxAttempts: 1,
      credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: 'x'.repeat(40) },
    });
    await assert.rejects(bad.send(new ListBucketsCommand({})), (e) => {
      assert.equal(e.name, 'SignatureDoesNotMatch');
      return true;
    });
    bad.destroy();
  });

  it('deletes conditionally with IfMatch (DeleteObject and DeleteObjects ETag)', async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cond/a', Body: 'first' }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cond/a', Body: 'second' }));
    await assert.rejects(
      s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'cond/a', IfMatch: put.ETag })),
      (e) => {
        assert.equal(e.name, 'PreconditionFailed');
        assert.equal(e.$metadata.httpStatusCode, 412);
        return true;
      });
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'cond/a' }));
    const del = await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'cond/a', IfMatch: head.ETag }));
    assert.equal(del.$metadata.httpStatusCode, 204);
    await assert.rejects(
      s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'cond/a', IfMatch: '*' })),
      (e) => e.name === 'NoSuchKey');

    const b = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cond/b', Body: 'b' }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cond/c', Body: 'c' }));
    const many = await s3.send(new DeleteObjectsCommand({
      Bucket: BUCKET,
      Delete: { Objects: [{ Key: 'cond/b', ETag: b.ETag }, { Key: 'cond/c', ETag: b.ETag }] },
    }));
    assert.deepEqual((many.Deleted || []).map((d) => d.Key), ['cond/b']);
    assert.deepEqual((many.Errors || []).map((e) => [e.Key, e.Code]), [['cond/c', 'PreconditionFailed']]);
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'cond/c' }));
  });

  it('deletes objects and the bucket', async () => {
    let token;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, ContinuationToken: token }));
      for (const o of page.Contents || []) {
        const del = await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: o.Key }));
        assert.equal(del.$metadata.httpStatusCode, 204);
      }
      token = page.NextContinuationToken;
    } while (token);
    const again = await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'never-there' }));
    assert.equal(again.$metadata.httpStatusCode, 204);
    await s3.send(new DeleteBucketCommand({ Bucket: BUCKET }));
  });

  it('stops cleanly with a clean log', async () => {
    const problems = await server.stop();
    assert.deepEqual(problems, []);
  });
});
