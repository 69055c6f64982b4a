// The PeerStor web page: sign-in, buckets, folders, uploads, downloads, share links, rename,
// delete, network view. Routing by location.hash (#/, #/b/<bucket>/<prefix>, #/network) so a
// reload keeps the place. Every S3 call is signed in this tab (s3.js, sigv4.js).
import { S3Client, S3Error } from './s3.js';
import { uploadFile, copyObject, dropRecord, loadRecord, MULTIPART_THRESHOLD } from './upload.js';
import { el, formatDate, formatSize } from './format.js';
import { showNetwork, stopNetwork } from './network.js';

const $ = (id) => document.getElementById(id);
const CRED_KEY = 'peerstor.credentials';

let client = null;
const browse = { bucket: '', prefix: '', tokens: [undefined], page: 0, folders: [], objects: [], sort: { by: 'name', dir: 1 } };

// ---------- messages ----------

let toastTimer;

/** A passing status message (read by screen readers through role=status), gone after a while. */
function toast(text) {
  $('toast').textContent = text;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    $('toast').textContent = '';
  }, 6000);
}

function alertMsg(text) {
  const a = $('alert');
  a.textContent = text;
  a.hidden = !text;
}

/** A sentence a person can act on, for every error the page can meet. */
export function describe(err) {
  if (err instanceof S3Error) {
    switch (err.code) {
      case 'InvalidAccessKeyId':
      case 'SignatureDoesNotMatch':
        return 'Wrong access key or secret key. Check both and try again.';
      case 'RequestTimeTooSkewed':
        return "This computer's clock is more than 15 minutes off; correct it and try again.";
      case 'AccessDenied':
        return 'Access denied: this user may not do that.';
      case 'NoSuchBucket':
        return 'That bucket does not exist (any more).';
      case 'NoSuchKey':
        return 'That file does not exist (any more).';
      case 'BucketNotEmpty':
        return 'The bucket is not empty. Delete its contents first.';
      case 'BucketAlreadyOwnedByYou':
      case 'BucketAlreadyExists':
        return 'A bucket with that name already exists.';
      case 'InvalidBucketName':
        return 'That is not a valid bucket name: use 3–63 lowercase letters, digits, dots and hyphens.';
      case 'SlowDown':
      case 'ServiceUnavailable':
        return 'The storage network is busy or too few peers are reachable. Try again in a moment.';
      case 'NetworkError':
        return 'Cannot reach the gateway. Check your connection.';
      default:
        return `${err.code}: ${err.message}`;
    }
  }
  if (err?.name === 'AbortError') return 'Cancelled.';
  if (err instanceof TypeError) return 'Cannot reach the gateway. Check your connection.';
  return String(err?.message || err);
}

async function guard(fn) {
  try {
    alertMsg('');
    return await fn();
  } catch (err) {
    alertMsg(describe(err));
    return undefined;
  }
}

// ---------- credentials ----------

function restoreCredentials() {
  try {
    const c = JSON.parse(sessionStorage.getItem(CRED_KEY) || 'null');
    if (c?.accessKey && c?.secretKey) client = new S3Client(c);
  } catch {
    sessionStorage.removeItem(CRED_KEY);
  }
}

async function signIn(e) {
  e.preventDefault();
  const err = $('signin-error');
  err.textContent = '';
  const accessKey = $('access-key').value.trim();
  const secretKey = $('secret-key').value;
  const region = $('region').value.trim() || 'us-east-1';
  if (!accessKey || !secretKey) {
    err.textContent = 'Enter both the access key and the secret key.';
    (accessKey ? $('secret-key') : $('access-key')).focus();
    return;
  }
  const candidate = new S3Client({ accessKey, secretKey, region });
  const button = e.submitter || $('signin-form').querySelector('button[type=submit]');
  button.disabled = true;
  try {
    await candidate.listBuckets();
  } catch (e2) {
    err.textContent = describe(e2);
    $('secret-key').select();
    $('secret-key').focus();
    return;
  } finally {
    button.disabled = false;
  }
  client = candidate;
  // The secret only leaves memory when the person asked to be remembered, and then only into
  // this tab's session storage (gone when the tab closes).
  if ($('remember').checked) sessionStorage.setItem(CRED_KEY, JSON.stringify({ accessKey, secretKey, region }));
  else sessionStorage.removeItem(CRED_KEY);
  $('secret-key').value = '';
  route();
}

function signOut() {
  client = null;
  sessionStorage.removeItem(CRED_KEY);
  location.hash = '#/';
  route();
}

// ---------- routing ----------

function show(view) {
  for (const v of ['signin', 'buckets', 'browse', 'network']) $(`view-${v}`).hidden = v !== view;
  $('nav').hidden = view === 'signin';
  if (view !== 'network') stopNetwork();
}

function focusTitle(id) {
  // Move focus to the new view's heading so keyboard and screen-reader users land on it.
  $(id).focus({ preventScroll: false });
}

export function browseHash(bucket, prefix = '') {
  return `#/b/${encodeURIComponent(bucket)}/${prefix.split('/').map(encodeURIComponent).join('/')}`;
}

async function route() {
  alertMsg('');
  if (!client) {
    show('signin');
    focusTitle('signin-title');
    return;
  }
  $('who').textContent = client.accessKey;
  const h = location.hash.replace(/^#/, '') || '/';
  if (h === '/network') {
    show('network');
    focusTitle('network-title');
    await showNetwork();
    return;
  }
  const m = /^\/b\/([^/]+)\/?(.*)$/.exec(h);
  if (m) {
    const bucket = decodeURIComponent(m[1]);
    const prefix = m[2].split('/').map(decodeURIComponent).join('/');
    show('browse');
    if (bucket !== browse.bucket || prefix !== browse.prefix) Object.assign(browse, { bucket, prefix, tokens: [undefined], page: 0 });
    await loadPage();
    focusTitle('browse-title');
    return;
  }
  show('buckets');
  await loadBuckets();
  focusTitle('buckets-title');
}

// ---------- buckets ----------

async function loadBuckets() {
  await guard(async () => {
    const buckets = (await client.listBuckets()).sort((a, b) => (a.name < b.name ? -1 : 1));
    $('no-buckets').hidden = buckets.length > 0;
    $('bucket-rows').replaceChildren(
      ...buckets.map((b) =>
        el('tr', {},
          el('td', {}, el('a', { href: browseHash(b.name) }, b.name)),
          el('td', {}, formatDate(b.created)),
          el('td', { className: 'actions' }, el('button', { type: 'button', className: 'danger', onclick: () => deleteBucket(b.name), 'aria-label': `Delete bucket ${b.name}` }, 'Delete')),
        ),
      ),
    );
  });
}

async function createBucket(e) {
  e.preventDefault();
  const input = $('new-bucket');
  const name = input.value.trim();
  if (!input.checkValidity()) {
    alertMsg('That is not a valid bucket name: use 3–63 lowercase letters, digits, dots and hyphens.');
    input.focus();
    return;
  }
  await guard(async () => {
    await client.createBucket(name);
    input.value = '';
    toast(`Bucket ${name} created.`);
    await loadBuckets();
  });
}

async function deleteBucket(name) {
  if (!(await confirmDialog(`Delete the bucket “${name}”? It must be empty.`))) return;
  await guard(async () => {
    await client.deleteBucket(name);
    toast(`Bucket ${name} deleted.`);
    await loadBuckets();
  });
}

// ---------- browsing ----------

function sortEntries() {
  const { by, dir } = browse.sort;
  const cmp = (a, b) => {
    const x = by === 'name' ? a.key : by === 'size' ? a.size : a.modified || '';
    const y = by === 'name' ? b.key : by === 'size' ? b.size : b.modified || '';
    return (x < y ? -1 : x > y ? 1 : 0) * dir;
  };
  browse.objects.sort(cmp);
  if (by === 'name') browse.folders.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0) * dir);
  for (const th of document.querySelectorAll('#object-table th[data-sort]')) {
    th.setAttribute('aria-sort', th.dataset.sort === by ? (dir > 0 ? 'ascending' : 'descending') : 'none');
  }
}

async function loadPage() {
  const { bucket, prefix } = browse;
  $('browse-title').textContent = prefix ? prefix.slice(0, -1).split('/').pop() + '/' : bucket;
  renderCrumbs();
  await guard(async () => {
    const page = await client.listObjects(bucket, { prefix, token: browse.tokens[browse.page], maxKeys: Number($('page-size').value) });
    browse.folders = page.folders;
    // The folder's own marker object (key === prefix) is the folder, not a file in it.
    browse.objects = page.objects.filter((o) => o.key !== prefix);
    if (page.next) browse.tokens[browse.page + 1] = page.next;
    else browse.tokens.length = browse.page + 1;
    sortEntries();
    renderRows();
    $('prev-page').disabled = browse.page === 0;
    $('next-page').disabled = !page.next;
    $('page-label').textContent = `Page ${browse.page + 1}`;
  });
  await loadUnfinished();
}

function renderCrumbs() {
  const { bucket, prefix } = browse;
  const items = [el('li', {}, el('a', { href: '#/' }, 'Buckets')), el('li', {}, el('a', { href: browseHash(bucket) }, bucket))];
  let acc = '';
  for (const part of prefix.split('/').filter(Boolean)) {
    acc += `${part}/`;
    items.push(el('li', {}, el('a', { href: browseHash(bucket, acc) }, part)));
  }
  items.at(-1).firstChild.setAttribute('aria-current', 'page');
  $('crumbs').replaceChildren(...items);
}

function actionButton(label, name, onclick, className = '') {
  return el('button', { type: 'button', className, onclick, 'aria-label': `${label} ${name}` }, label);
}

function renderRows() {
  const { bucket, prefix } = browse;
  const rows = [];
  for (const f of browse.folders) {
    const name = f.slice(prefix.length);
    rows.push(
      el('tr', { className: 'folder' },
        el('td', {}, el('a', { href: browseHash(bucket, f) }, name)),
        el('td', { className: 'num' }, '—'),
        el('td', {}, ''),
        el('td', { className: 'actions' },
          actionButton('Rename', name, () => rename(f, true)),
          actionButton('Delete', name, () => deleteFolder(f), 'danger'),
        ),
      ),
    );
  }
  for (const o of browse.objects) {
    const name = o.key.slice(prefix.length);
    rows.push(
      el('tr', {},
        el('td', { className: 'name' }, name),
        el('td', { className: 'num' }, formatSize(o.size)),
        el('td', {}, formatDate(o.modified)),
        el('td', { className: 'actions' },
          actionButton('Download', name, () => download(o.key)),
          actionButton('Share', name, () => share(o.key)),
          actionButton('Rename', name, () => rename(o.key, false, o.size)),
          actionButton('Delete', name, () => deleteObject(o.key), 'danger'),
        ),
      ),
    );
  }
  $('object-rows').replaceChildren(...rows);
  $('empty-folder').hidden = rows.length > 0;
}

async function createFolder(e) {
  e.preventDefault();
  const name = $('new-folder').value.trim().replace(/\/+$/, '');
  if (!name || name.includes('/')) {
    alertMsg('A folder name must not be empty or contain “/”.');
    return;
  }
  await guard(async () => {
    await client.createFolder(browse.bucket, `${browse.prefix}${name}/`);
    $('new-folder').value = '';
    toast(`Folder ${name} created.`);
    await loadPage();
  });
}

// ---------- downloads and share links ----------

async function download(key) {
  await guard(async () => {
    const url = await client.presignGet(browse.bucket, key, 300, { disposition: 'attachment' });
    const a = el('a', { href: url, download: key.slice(key.lastIndexOf('/') + 1), rel: 'noreferrer' });
    document.body.append(a);
    a.click();
    a.remove();
  });
}

let shareKey = '';

function share(key) {
  shareKey = key;
  $('share-name').textContent = key.slice(key.lastIndexOf('/') + 1);
  $('share-url').value = '';
  $('share-dialog').showModal();
  $('share-expiry').focus();
}

async function createShareLink() {
  await guard(async () => {
    const url = await client.presignGet(browse.bucket, shareKey, Number($('share-expiry').value));
    $('share-url').value = url;
    $('share-url').select();
    toast('Share link created.');
  });
}

async function copyShareLink() {
  const input = $('share-url');
  if (!input.value) return;
  try {
    await navigator.clipboard.writeText(input.value);
    toast('Link copied.');
  } catch {
    // The clipboard API needs a secure context; selecting lets the person copy by hand.
    input.select();
    toast('Press Ctrl+C (or ⌘C) to copy the selected link.');
  }
}

// ---------- rename and delete ----------

function confirmDialog(text, okLabel = 'Delete') {
  const d = $('confirm-dialog');
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = okLabel;
  d.returnValue = '';
  d.showModal();
  return new Promise((resolve) => d.addEventListener('close', () => resolve(d.returnValue === 'ok'), { once: true }));
}

function askName(current) {
  const d = $('rename-dialog');
  const input = $('rename-input');
  input.value = current;
  $('rename-error').textContent = '';
  d.returnValue = '';
  d.showModal();
  input.focus();
  input.select();
  return new Promise((resolve) => d.addEventListener('close', () => resolve(d.returnValue === 'ok' ? input.value.trim() : undefined), { once: true }));
}

async function exists(key) {
  try {
    await client.headObject(browse.bucket, key);
    return true;
  } catch (err) {
    if (err instanceof S3Error && (err.code === 'NotFound' || err.code === 'NoSuchKey')) return false;
    throw err;
  }
}

async function rename(key, isFolder, size) {
  const { bucket, prefix } = browse;
  const oldName = key.slice(prefix.length).replace(/\/$/, '');
  const name = await askName(oldName);
  if (!name || name === oldName) return;
  if (name.includes('/')) {
    alertMsg('A name must not contain “/”.');
    return;
  }
  await guard(async () => {
    if (!isFolder) {
      const to = prefix + name;
      if (await exists(to)) throw new Error(`“${name}” already exists here.`);
      await copyObject(client, bucket, key, to, size);
      await client.deleteObject(bucket, key);
    } else {
      // S3 has no folders: renaming one copies every key under it, then deletes the originals.
      const to = `${prefix}${name}/`;
      let n = 0;
      for await (const o of client.allKeys(bucket, key)) {
        await copyObject(client, bucket, o.key, to + o.key.slice(key.length), o.size);
        await client.deleteObject(bucket, o.key);
        toast(`Renaming: ${++n} moved…`);
      }
    }
    toast(`Renamed to ${name}.`);
    await loadPage();
  });
}

async function deleteObject(key) {
  const name = key.slice(browse.prefix.length);
  if (!(await confirmDialog(`Delete “${name}”? This cannot be undone.`))) return;
  await guard(async () => {
    await client.deleteObject(browse.bucket, key);
    toast(`${name} deleted.`);
    await loadPage();
  });
}

async function deleteFolder(prefix) {
  const name = prefix.slice(browse.prefix.length);
  if (!(await confirmDialog(`Delete the folder “${name}” and everything in it? This cannot be undone.`))) return;
  await guard(async () => {
    let batch = [];
    let n = 0;
    const flush = async () => {
      const failed = await client.deleteObjects(browse.bucket, batch);
      if (failed.length) throw new Error(`${failed.length} files could not be deleted (${failed[0].code}).`);
      n += batch.length;
      batch = [];
      toast(`Deleting: ${n} files…`);
    };
    for await (const o of client.allKeys(browse.bucket, prefix)) {
      batch.push(o.key);
      if (batch.length === 1000) await flush();
    }
    if (batch.length) await flush();
    toast(`Folder ${name} deleted.`);
    await loadPage();
  });
}

// ---------- uploads ----------

const queue = [];
let uploading = false;

function enqueue(files, resumeUploadId, keyOverride) {
  $('uploads').hidden = false;
  for (const file of files) {
    const key = keyOverride || browse.prefix + file.name;
    const progress = el('progress', { max: 100, value: 0, 'aria-label': `Upload of ${file.name}` });
    const pct = el('span', { className: 'pct' }, '0 %');
    const info = el('span', { className: 'hint' }, file.size >= MULTIPART_THRESHOLD ? `waiting (${formatSize(file.size)}, multipart)` : `waiting (${formatSize(file.size)})`);
    const ctrl = new AbortController();
    const cancel = el('button', { type: 'button', onclick: () => ctrl.abort(), 'aria-label': `Cancel upload of ${file.name}` }, 'Cancel');
    const li = el('li', { dataset: { key } }, el('span', { className: 'name' }, file.name), progress, pct, info, cancel);
    $('upload-list').append(li);
    queue.push({ bucket: browse.bucket, key, file, progress, pct, info, cancel, ctrl, resumeUploadId });
  }
  if (!uploading) drain();
}

async function drain() {
  uploading = true;
  while (queue.length) {
    const u = queue.shift();
    const t0 = performance.now();
    try {
      await uploadFile(client, u.bucket, u.key, u.file, {
        signal: u.ctrl.signal,
        resumeUploadId: u.resumeUploadId,
        onProgress: ({ sent, total, resumedParts }) => {
          const p = total > 0 ? Math.floor((sent / total) * 100) : 100;
          u.progress.value = p;
          u.pct.textContent = `${p} %`;
          const secs = (performance.now() - t0) / 1000;
          u.info.textContent = `${formatSize(sent)} of ${formatSize(total)}${secs > 0.5 ? `, ${formatSize(Math.round(sent / secs))}/s` : ''}${resumedParts ? ` (resumed: ${resumedParts} parts were already there)` : ''}`;
        },
      });
      u.progress.value = 100;
      u.pct.textContent = '100 %';
      u.info.textContent = `done: ${formatSize(u.file.size)} in ${((performance.now() - t0) / 1000).toFixed(1)} s`;
      toast(`Uploaded ${u.file.name}.`);
    } catch (err) {
      u.info.textContent = describe(err);
      u.info.className = 'error';
      alertMsg(`Upload of ${u.file.name} failed: ${describe(err)}`);
    }
    u.cancel.remove();
    if (!$('view-browse').hidden && u.bucket === browse.bucket) await loadPage();
  }
  uploading = false;
}

let resumeTarget;

async function loadUnfinished() {
  const { bucket, prefix } = browse;
  let uploads = [];
  try {
    uploads = (await client.listMultipartUploads(bucket, prefix)).filter((u) => !u.key.slice(prefix.length).includes('/'));
  } catch {
    // Listing unfinished uploads is a convenience: the folder view works without it.
  }
  const busy = new Set(queue.map((q) => q.key));
  for (const li of $('upload-list').children) if (li.querySelector('button')) busy.add(li.dataset.key);
  uploads = uploads.filter((u) => !busy.has(u.key));
  $('unfinished').hidden = uploads.length === 0;
  $('unfinished-list').replaceChildren(
    ...uploads.map((u) => {
      const name = u.key.slice(prefix.length);
      const rec = loadRecord(client, bucket, u.key);
      const what = rec?.uploadId === u.uploadId ? ` (${formatSize(rec.size)}, file “${rec.name}”)` : '';
      return el('li', {},
        el('span', { className: 'name' }, name),
        el('span', { className: 'hint' }, `started ${formatDate(u.initiated)}${what}`),
        el('button', { type: 'button', 'aria-label': `Resume upload of ${name}`, onclick: () => {
          resumeTarget = u;
          $('resume-input').click();
        } }, 'Resume…'),
        el('button', { type: 'button', className: 'danger', 'aria-label': `Discard upload of ${name}`, onclick: () => guard(async () => {
          await client.abortMultipartUpload(bucket, u.key, u.uploadId);
          dropRecord(client, bucket, u.key);
          toast(`Discarded the unfinished upload of ${name}.`);
          await loadUnfinished();
        }) }, 'Discard'),
      );
    }),
  );
}

async function resumePicked() {
  const file = $('resume-input').files[0];
  $('resume-input').value = '';
  const u = resumeTarget;
  if (!file || !u) return;
  const rec = loadRecord(client, browse.bucket, u.key);
  if (rec?.uploadId === u.uploadId && rec.size !== file.size) {
    alertMsg(`That is not the same file: the upload was for ${formatSize(rec.size)}, “${file.name}” has ${formatSize(file.size)}.`);
    return;
  }
  $('unfinished').hidden = true;
  enqueue([file], u.uploadId, u.key);
}

function onDrop(e) {
  e.preventDefault();
  $('drop-zone').classList.remove('over');
  const files = [...(e.dataTransfer?.files || [])];
  if (files.length) enqueue(files);
}

// ---------- wiring ----------

function sortBy(by) {
  browse.sort = { by, dir: browse.sort.by === by ? -browse.sort.dir : 1 };
  sortEntries();
  renderRows();
}

function init() {
  restoreCredentials();
  $('signin-form').addEventListener('submit', signIn);
  $('sign-out').addEventListener('click', signOut);
  $('new-bucket-form').addEventListener('submit', createBucket);
  $('new-folder-form').addEventListener('submit', createFolder);
  $('upload-button').addEventListener('click', () => $('file-input').click());
  $('file-input').addEventListener('change', () => {
    enqueue([...$('file-input').files]);
    $('file-input').value = '';
  });
  $('resume-input').addEventListener('change', resumePicked);
  $('page-size').addEventListener('change', () => {
    Object.assign(browse, { tokens: [undefined], page: 0 });
    loadPage();
  });
  $('prev-page').addEventListener('click', () => {
    if (browse.page > 0) {
      browse.page--;
      loadPage();
    }
  });
  $('next-page').addEventListener('click', () => {
    if (browse.tokens[browse.page + 1]) {
      browse.page++;
      loadPage();
    }
  });
  for (const th of document.querySelectorAll('#object-table th[data-sort]')) th.querySelector('button').addEventListener('click', () => sortBy(th.dataset.sort));
  $('share-create').addEventListener('click', createShareLink);
  $('share-copy').addEventListener('click', copyShareLink);
  const view = $('view-browse');
  view.addEventListener('dragover', (e) => {
    e.preventDefault();
    $('drop-zone').classList.add('over');
  });
  view.addEventListener('dragleave', (e) => {
    if (e.target === $('drop-zone')) $('drop-zone').classList.remove('over');
  });
  view.addEventListener('drop', onDrop);
  // Leaving the page mid-upload would stop it; the upload can be resumed, but say so first.
  addEventListener('beforeunload', (e) => {
    if (uploading) e.preventDefault();
  });
  addEventListener('hashchange', route);
  route();
}

init();
