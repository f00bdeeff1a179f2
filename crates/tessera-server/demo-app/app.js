// Tessera's demo app: plain JavaScript, no build step.
//
// What it shows, for a front end of your own:
// - every call uses `credentials: 'include'`, so the HttpOnly refresh cookie travels
//   (also to an API on another allowed origin);
// - the access token (refresh mode) lives only in the `session` object below, never in
//   localStorage, sessionStorage or a readable cookie;
// - a silent refresh runs before the access token expires, and a 401 triggers one
//   refresh and a retry; refreshes never run twice at once (a rotated refresh token
//   presented twice looks like theft and ends the session);
// - state-changing calls carry the CSRF token in `X-CSRFToken`; the token comes in the
//   body of the login and session answers (a page on another origin cannot read the
//   API's cookie), and a stale one is renewed once from `token/session/`.
'use strict';

const API = new URL(
  document.querySelector('meta[name="tessera-api"]').content,
  location.href,
).href.replace(/\/?$/, '/');

const session = {
  access: null, // the access token (refresh mode); null in full mode
  accessExpires: 0, // seconds since the epoch
  csrf: null,
  refreshes: 0,
  timer: null,
  inFlight: null, // the refresh under way, shared by every caller
};

const $ = (id) => document.getElementById(id);

async function call(path, { method = 'GET', body, bearer = true } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (bearer && session.access) headers.Authorization = `Bearer ${session.access}`;
  if (method !== 'GET' && session.csrf) headers['X-CSRFToken'] = session.csrf;
  const response = await fetch(API + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'include',
    cache: 'no-store',
  });
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  return { status: response.status, ok: response.ok, data };
}

const isCsrfFailure = (r) =>
  r.status === 403 && typeof r.data?.detail === 'string' && r.data.detail.startsWith('CSRF Failed');

// A state change whose CSRF token may be stale (another tab reloaded and got a new
// one): renewed once from the session endpoint, then retried.
async function callWithCsrf(path, options) {
  let r = await call(path, options);
  if (isCsrfFailure(r) && (await renewCsrf())) r = await call(path, options);
  return r;
}

async function renewCsrf() {
  const s = await call('token/session/', { bearer: false });
  if (s.ok && s.data?.authenticated) {
    session.csrf = s.data.csrf;
    return true;
  }
  return false;
}

function keep(data) {
  if (data.csrf) session.csrf = data.csrf;
  session.access = data.access ?? null;
  session.accessExpires = data.access_expires ?? 0;
  schedule();
  showFacts();
}

// The silent refresh: at four fifths of the access token's remaining life.
function schedule() {
  clearTimeout(session.timer);
  const remaining = session.accessExpires * 1000 - Date.now();
  const wait = Math.max(1000, Math.min(remaining * 0.8, 2 ** 31 - 1));
  session.timer = setTimeout(() => refresh(), wait);
}

function refresh() {
  session.inFlight ??= (async () => {
    try {
      const r = await callWithCsrf('token/refresh/', { method: 'POST', body: {}, bearer: false });
      if (r.ok) {
        session.refreshes += 1;
        keep(r.data);
        return true;
      }
      if (r.status === 401) signedOut('Your session has ended; sign in again.');
      return false;
    } finally {
      session.inFlight = null;
    }
  })();
  return session.inFlight;
}

// A call to a protected route: on 401 one refresh, then the call again.
async function api(path, options = {}) {
  let r = await callWithCsrf(path, options);
  if (r.status === 401 && (await refresh())) r = await callWithCsrf(path, options);
  return r;
}

function signedOut(message) {
  clearTimeout(session.timer);
  Object.assign(session, { access: null, accessExpires: 0, csrf: null, timer: null });
  $('app').hidden = true;
  $('login').hidden = false;
  $('notice').textContent = message ?? '';
  $('username').focus();
}

function showFacts() {
  $('access-where').textContent = session.access
    ? 'in this page\u2019s memory only'
    : 'in an HttpOnly cookie';
  $('refreshes').textContent = String(session.refreshes);
}

setInterval(() => {
  const left = Math.max(0, Math.round(session.accessExpires - Date.now() / 1000));
  $('access-expires').textContent = session.accessExpires ? `${left} s` : '';
}, 500);

async function showApp() {
  $('login').hidden = true;
  $('app').hidden = false;
  showFacts();
  await loadData();
}

async function loadData() {
  const me = await api('me/');
  if (!me.ok) return;
  $('who').textContent = me.data.username;
  $('me').textContent = JSON.stringify(me.data, null, 2);
  const reviews = await api('reviews/');
  if (!reviews.ok) return;
  const rows = reviews.data.map((r) => {
    const tr = document.createElement('tr');
    for (const value of [r.product, r.rating, r.comment, r.author]) {
      const td = document.createElement('td');
      td.textContent = String(value);
      tr.append(td);
    }
    return tr;
  });
  $('reviews').replaceChildren(...rows);
}

$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('login-error').textContent = '';
  const r = await call('token/', {
    method: 'POST',
    body: { username: $('username').value, password: $('password').value },
    bearer: false,
  });
  $('password').value = '';
  if (!r.ok) {
    $('login-error').textContent = r.data?.detail ?? `Sign-in failed (${r.status}).`;
    return;
  }
  $('notice').textContent = '';
  keep(r.data);
  await showApp();
});

$('review-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('review-error').textContent = '';
  const r = await api('reviews/', {
    method: 'POST',
    body: {
      product: $('product').value,
      rating: Number($('rating').value),
      comment: $('comment').value,
    },
  });
  if (!r.ok) {
    $('review-error').textContent = JSON.stringify(r.data);
    return;
  }
  $('product').value = '';
  $('comment').value = '';
  await loadData();
});

$('reload').addEventListener('click', loadData);
$('refresh-now').addEventListener('click', () => refresh());

$('check').addEventListener('click', async () => {
  const r = await call('token/valid/', { method: 'POST', body: {} });
  $('check-result').textContent = `${r.status}: ${r.data?.detail} (${r.data?.code})`;
});

$('logout').addEventListener('click', async () => {
  const r = await callWithCsrf('token/logout/', { method: 'POST', body: {}, bearer: false });
  signedOut(r.ok ? 'Signed out.' : `Sign-out failed (${r.status}).`);
});

$('logout-all').addEventListener('click', async () => {
  const r = await api('token/logout/all/', { method: 'POST', body: {} });
  signedOut(r.ok ? 'Signed out on every device.' : `Sign-out failed (${r.status}).`);
});

// A page load: the session comes back from the refresh cookie, if there is one.
(async () => {
  const s = await call('token/session/', { bearer: false });
  if (s.ok && s.data?.authenticated) {
    session.csrf = s.data.csrf;
    if (await refresh()) {
      await showApp();
      return;
    }
  }
  signedOut($('notice').textContent);
})();
