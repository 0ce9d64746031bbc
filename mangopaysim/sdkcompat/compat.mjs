// compat.mjs drives Mangopay's official Node.js SDK (mangopay4-nodejs-sdk)
// against a Mangopay API at a custom base URL, normally the kycflow Sandbox
// simulator, and checks that every call the SDK makes is understood both ways.
//
// Usage:
//   node compat.mjs [--phase run|verify] [--base-url URL] [--client-id ID]
//                   [--api-key KEY] [--hook-url URL]
//                   [--user-id ID --session-id ID --doc-id ID --hook-id ID]
//
// Every option can also come from the environment: MANGOPAY_BASE_URL,
// MANGOPAY_CLIENT_ID, MANGOPAY_API_KEY, SDKCOMPAT_PHASE, SDKCOMPAT_HOOK_URL,
// SDKCOMPAT_USER_ID, SDKCOMPAT_SESSION_ID, SDKCOMPAT_DOC_ID, SDKCOMPAT_HOOK_ID.
//
// Phase "run" creates users, an IDV session, a KYC document and a hook and
// exercises the error paths. Phase "verify" reads back what "run" created
// after an outcome was given to the session (through the simulator's control
// API, which the SDK knows nothing about) and the clock was moved past the KYC
// processing delay.
//
// The script prints one JSON summary on stdout and exits 0 when every check
// held, 1 when one did not (the summary's "failures" say which), 2 on a usage
// error. The SDK's own console output goes to stderr so stdout stays JSON.

import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';

// The SDK logs some warnings with console.log; keep stdout for the summary.
console.log = console.error;

const require = createRequire(import.meta.url);
const mangopay = require('mangopay4-nodejs-sdk');
const sdkVersion = require('mangopay4-nodejs-sdk/package.json').version;

const DEFAULTS = {
  'base-url': 'http://127.0.0.1:8090',
  'client-id': 'kycflow-dev',
  'api-key': 'kycflow-dev-api-key',
  phase: 'run',
};
const ENV = {
  'base-url': 'MANGOPAY_BASE_URL',
  'client-id': 'MANGOPAY_CLIENT_ID',
  'api-key': 'MANGOPAY_API_KEY',
  phase: 'SDKCOMPAT_PHASE',
  'hook-url': 'SDKCOMPAT_HOOK_URL',
  'user-id': 'SDKCOMPAT_USER_ID',
  'session-id': 'SDKCOMPAT_SESSION_ID',
  'doc-id': 'SDKCOMPAT_DOC_ID',
  'hook-id': 'SDKCOMPAT_HOOK_ID',
};

function usage(msg) {
  process.stderr.write(`compat.mjs: ${msg}\n`);
  process.exit(2);
}

function readOptions() {
  let parsed;
  try {
    parsed = parseArgs({
      options: Object.fromEntries(Object.keys(ENV).map((k) => [k, { type: 'string' }])),
      strict: true,
    }).values;
  } catch (err) {
    usage(err.message);
  }
  const opt = {};
  for (const [name, env] of Object.entries(ENV)) {
    opt[name] = parsed[name] ?? process.env[env] ?? DEFAULTS[name];
  }
  opt['base-url'] = opt['base-url'].replace(/\/+$/, '');
  if (!['run', 'verify'].includes(opt.phase)) usage(`--phase must be run or verify, not ${opt.phase}`);
  if (opt.phase === 'run' && !opt['hook-url']) usage('--hook-url (or SDKCOMPAT_HOOK_URL) is required for phase run');
  if (opt.phase === 'verify') {
    for (const k of ['user-id', 'session-id', 'doc-id', 'hook-id']) {
      if (!opt[k]) usage(`--${k} (or ${ENV[k]}) is required for phase verify`);
    }
  }
  return opt;
}

const opt = readOptions();

// sdkErrors counts the calls the SDK reported to its errorHandler.
const sdkErrors = [];
const api = new mangopay({
  clientId: opt['client-id'],
  clientApiKey: opt['api-key'],
  baseUrl: opt['base-url'],
  connectionTimeout: 20000,
  responseTimeout: 20000,
  errorHandler: (message, body) => sdkErrors.push({ message, body }),
});

const summary = {
  sdk: { name: 'mangopay4-nodejs-sdk', version: sdkVersion },
  phase: opt.phase,
  baseUrl: opt['base-url'],
  calls: [],
  failures: [],
};

// area names the part of the flow being checked; every failure carries it so
// that a caller can tell which feature a mismatch is about.
let area = 'setup';
function section(name) {
  area = name;
}

// expect records a failed check; it never throws so one run reports every
// mismatch at once.
function expect(check, cond, detail) {
  if (!cond) {
    const text = detail === undefined ? '' : typeof detail === 'string' ? detail : JSON.stringify(detail);
    summary.failures.push({ area, check, detail: text });
  }
  return !!cond;
}

// call runs one SDK call. It resolves to {ok, value} or {ok: false, error}
// where error is what the SDK rejected with (for an HTTP error: the body).
async function call(name, fn) {
  try {
    const value = await fn();
    summary.calls.push({ name, ok: true });
    return { ok: true, value };
  } catch (error) {
    const body = error instanceof Error ? { Message: error.message, stack: String(error.stack).split('\n').slice(0, 3) } : error;
    summary.calls.push({ name, ok: false, error: body });
    return { ok: false, error: body };
  }
}

// must runs an SDK call that has to succeed.
async function must(name, fn) {
  const r = await call(name, fn);
  expect(`${name} succeeds`, r.ok, r.error);
  return r.ok ? r.value : undefined;
}

// mustFail runs an SDK call that has to be rejected with a Mangopay error.
async function mustFail(name, fn) {
  const r = await call(name, fn);
  expect(`${name} is rejected`, !r.ok, 'the call succeeded');
  return r.ok ? undefined : r.error;
}

// mangoError keeps the fields of a Mangopay error body as the SDK surfaced it.
function mangoError(e) {
  if (!e || typeof e !== 'object') return { surfaced: e ?? null };
  return {
    Type: e.Type ?? null,
    Message: e.Message ?? null,
    Id: e.Id ?? null,
    Date: e.Date ?? null,
    errors: e.errors ?? null,
  };
}

// A PDF of at least 32 KB: the minimum for an IDENTITY_PROOF page.
function identityPdf() {
  const head = Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n', 'latin1');
  const pad = Buffer.alloc(40 * 1024 - head.length, 0x20);
  const tail = Buffer.from('\n%%EOF\n', 'latin1');
  return Buffer.concat([head, pad, tail]);
}

const RETURN_URL = 'https://example.com/kyc/back';

async function phaseRun() {
  const base = opt['base-url'];

  section('users');
  // 1. Natural OWNER through the SCA endpoint; "accept" in the email is the
  // Sandbox's SCA bypass.
  // A fresh object per call: the SDK deletes NaturalSca from the object it is
  // given and then copies the response into it.
  const naturalOwner = (overrides) => ({
    NaturalSca: true, // tells the SDK to use POST /sca/users/natural; not sent
    PersonType: 'NATURAL',
    UserCategory: 'OWNER',
    FirstName: 'Alex',
    LastName: 'Smith',
    Email: 'alex+accept@example.com',
    Birthday: 652117514,
    Nationality: 'FR',
    CountryOfResidence: 'FR',
    TermsAndConditionsAccepted: true,
    Tag: 'sdkcompat natural owner',
    ...overrides,
  });
  const natural = await must('Users.create(natural SCA owner)', () => api.Users.create(naturalOwner()));
  if (!natural) return; // nothing below can run without a user
  summary.natural = {
    Id: natural.Id,
    PersonType: natural.PersonType,
    UserCategory: natural.UserCategory,
    UserStatus: natural.UserStatus,
    KYCLevel: natural.KYCLevel,
    PendingUserAction: natural.PendingUserAction ?? null,
  };
  expect('natural user Id', /^user_m_/.test(natural.Id ?? ''), natural.Id);
  expect('natural user UserStatus', natural.UserStatus === 'ACTIVE', natural.UserStatus);
  expect('natural user KYCLevel', natural.KYCLevel === 'LIGHT', natural.KYCLevel);

  // 2. Get it back: SCA view and legacy view (the typed getters come later).
  const got = await must('Users.getSca(natural)', () => api.Users.getSca(natural.Id));
  if (got) {
    summary.natural.getSca = { Id: got.Id, PersonType: got.PersonType, FirstName: got.FirstName, Email: got.Email };
    expect('getSca returns the same natural user', got.Id === natural.Id && got.FirstName === 'Alex', summary.natural.getSca);
  }
  const legacy = await must('Users.get(natural)', () => api.Users.get(natural.Id));
  if (legacy) {
    summary.natural.get = { Id: legacy.Id, PersonType: legacy.PersonType };
    expect('get returns the same natural user', legacy.Id === natural.Id, summary.natural.get);
  }

  // 3. An OWNER without the bypass must enrol in SCA: the SDK must surface
  // PendingUserAction.RedirectUrl.
  const enrolling = await must('Users.create(natural SCA owner, no bypass)', () =>
    api.Users.create(naturalOwner({ Email: 'casey@example.com', Tag: 'sdkcompat sca enrolment' })));
  if (enrolling) {
    summary.scaEnrolment = {
      Id: enrolling.Id,
      UserStatus: enrolling.UserStatus,
      RedirectUrl: enrolling.PendingUserAction?.RedirectUrl ?? null,
    };
    expect('SCA enrolment UserStatus', enrolling.UserStatus === 'PENDING_USER_ACTION', enrolling.UserStatus);
    expect('SCA enrolment RedirectUrl', String(summary.scaEnrolment.RedirectUrl).startsWith(base), summary.scaEnrolment.RedirectUrl);
  }

  // 4. Legal BUSINESS OWNER through the SCA endpoint.
  const legal = await must('Users.create(legal SCA business owner)', () => api.Users.create({
    LegalSca: true, // tells the SDK to use POST /sca/users/legal; not sent
    PersonType: 'LEGAL',
    UserCategory: 'OWNER',
    LegalPersonType: 'BUSINESS',
    Name: 'Alex Smith Services',
    Email: 'contact@example.com',
    CompanyNumber: '123456789',
    TermsAndConditionsAccepted: true,
    LegalRepresentative: {
      FirstName: 'Alex', LastName: 'Smith', Birthday: 652117514, Nationality: 'FR',
      CountryOfResidence: 'FR', Email: 'alex+accept@example.com',
    },
    HeadquartersAddress: { AddressLine1: '3 rue de la Cité', City: 'Paris', PostalCode: '75004', Country: 'FR' },
    Tag: 'sdkcompat legal owner',
  }));
  if (legal) {
    summary.legal = {
      Id: legal.Id,
      PersonType: legal.PersonType,
      LegalPersonType: legal.LegalPersonType,
      UserCategory: legal.UserCategory,
      UserStatus: legal.UserStatus,
      LegalRepresentativeFirstName: legal.LegalRepresentative?.FirstName ?? null,
    };
    expect('legal user', legal.PersonType === 'LEGAL' && legal.LegalPersonType === 'BUSINESS', summary.legal);
  }

  // 5. A PAYER, for the invalid_action error path.
  const payer = await must('Users.create(natural SCA payer)', () => api.Users.create({
    NaturalSca: true, PersonType: 'NATURAL', UserCategory: 'PAYER', FirstName: 'Pat', LastName: 'Payer',
    Email: 'pat@example.com', TermsAndConditionsAccepted: true,
  }));

  section('typedGetters');
  // 6. The SDK's typed getters: GET /users/natural/{id}, /users/legal/{id},
  // /sca/users/natural/{id}, /sca/users/legal/{id}. Mangopay serves them (the
  // SDK's own test suite calls them against the live Sandbox).
  summary.typedGetters = {};
  const getters = [
    ['Users.getNatural', () => api.Users.getNatural(natural.Id), natural.Id],
    ['Users.getNaturalSca', () => api.Users.getNaturalSca(natural.Id), natural.Id],
  ];
  if (legal) {
    getters.push(['Users.getLegal', () => api.Users.getLegal(legal.Id), legal.Id]);
    getters.push(['Users.getLegalSca', () => api.Users.getLegalSca(legal.Id), legal.Id]);
  }
  for (const [name, fn, id] of getters) {
    const r = await call(name, fn);
    summary.typedGetters[name] = r.ok ? { ok: true, Id: r.value.Id } : { ok: false, error: mangoError(r.error) };
    expect(`${name} returns the user`, r.ok && r.value.Id === id, r.ok ? r.value.Id : r.error);
  }

  section('identityVerification');
  // 7. IDV session for the natural owner, with an idempotency key.
  const idemKey = `sdkcompat-${randomUUID()}`.slice(0, 36);
  const sessionInput = { ReturnUrl: RETURN_URL, Tag: 'sdkcompat session' };
  const session = await must('IdentityVerifications.create(natural)', () =>
    api.IdentityVerifications.create(natural.Id, sessionInput, api.OptionsHelper.withIdempotency({}, idemKey)));
  if (!session) return;
  summary.session = {
    Id: session.Id,
    Status: session.Status,
    HostedUrl: session.HostedUrl,
    ReturnUrl: session.ReturnUrl,
    Tag: session.Tag,
  };
  expect('session Id', /^idnver_/.test(session.Id ?? ''), session.Id);
  expect('session Status', session.Status === 'PENDING', session.Status);
  expect('session HostedUrl', String(session.HostedUrl).startsWith(base + '/'), session.HostedUrl);
  expect('session ReturnUrl', session.ReturnUrl === RETURN_URL, session.ReturnUrl);

  const viewed = await must('IdentityVerifications.get', () => api.IdentityVerifications.get(session.Id));
  if (viewed) {
    summary.session.get = {
      Id: viewed.Id, Status: viewed.Status, UserId: viewed.UserId, HostedUrl: viewed.HostedUrl,
      ReturnUrl: viewed.ReturnUrl, Checks: viewed.Checks,
    };
    expect('get session', viewed.Id === session.Id && viewed.Status === 'PENDING' && viewed.UserId === natural.Id &&
      viewed.HostedUrl === session.HostedUrl, summary.session.get);
  }

  const listed = await must('IdentityVerifications.getAll', () =>
    api.IdentityVerifications.getAll(natural.Id, { resolveWithFullResponse: true }));
  if (listed) {
    const items = listed.body;
    summary.session.list = {
      count: Array.isArray(items) ? items.length : null,
      ids: Array.isArray(items) ? items.map((s) => s.Id) : null,
      xNumberOfItems: listed.headers?.['x-number-of-items'] ?? null,
      status: listed.status,
    };
    expect('list sessions', Array.isArray(items) && items.some((s) => s.Id === session.Id && s.Status === 'PENDING'), items);
  }
  section('rateLimits');
  summary.rateLimits = api.rateLimits;
  expect('the SDK parsed the four X-RateLimit windows', Array.isArray(api.rateLimits) && api.rateLimits.length === 4, api.rateLimits);

  section('idempotency');
  // 8. Idempotency: read the stored response back, then see a reuse blocked.
  const idem = await must('Idempotency.get', () => api.Idempotency.get(idemKey));
  if (idem) {
    summary.idempotency = {
      key: idemKey,
      StatusCode: idem.StatusCode,
      ContentType: idem.ContentType,
      ResourceId: idem.Resource?.Id ?? null,
    };
    expect('idempotent response', idem.StatusCode === '200' && idem.Resource?.Id === session.Id, summary.idempotency);
  }
  const reuse = await mustFail('IdentityVerifications.create(reused idempotency key)', () =>
    api.IdentityVerifications.create(natural.Id, sessionInput, api.OptionsHelper.withIdempotency({}, idemKey)));
  summary.errors = { idempotencyReuse: mangoError(reuse) };
  expect('idempotency reuse Type', reuse?.Type === 'idempotent_creation_conflict', reuse);

  section('errors');
  // 9. Error paths: unknown user, PAYER, bad credentials.
  const unknown = await mustFail('IdentityVerifications.create(unknown user)', () =>
    api.IdentityVerifications.create('user_m_01JZZZZZZZZZZZZZZZZZZZZZZZ', { ReturnUrl: RETURN_URL }));
  summary.errors.unknownUser = mangoError(unknown);
  expect('unknown user error Type', unknown?.Type === 'param_error', unknown);
  expect('unknown user errors.UserId', typeof unknown?.errors?.UserId === 'string' && unknown.errors.UserId !== '', unknown);
  expect('unknown user error Id and Date', !!unknown?.Id && typeof unknown?.Date === 'number', unknown);

  if (payer) {
    summary.payer = { Id: payer.Id, UserCategory: payer.UserCategory, UserStatus: payer.UserStatus };
    const payerErr = await mustFail('IdentityVerifications.create(payer)', () =>
      api.IdentityVerifications.create(payer.Id, { ReturnUrl: RETURN_URL }));
    summary.errors.payer = mangoError(payerErr);
    expect('payer error Type', payerErr?.Type === 'invalid_action', payerErr);
    expect('payer error Message', typeof payerErr?.Message === 'string' && payerErr.Message !== '', payerErr);
  }

  const missing = await mustFail('IdentityVerifications.get(unknown session)', () =>
    api.IdentityVerifications.get('idnver_01JZZZZZZZZZZZZZZZZZZZZZZZ'));
  summary.errors.unknownSession = mangoError(missing);
  expect('unknown session error Type', missing?.Type === 'ressource_not_found', missing);


  section('kyc');
  // 10. KYC document: create (Tag "accept"), one page, submit, read back.
  const doc = await must('Users.createKycDocument', () =>
    api.Users.createKycDocument(natural.Id, { Tag: 'accept', Type: 'IDENTITY_PROOF' }));
  if (doc) {
    summary.kyc = { Id: doc.Id, Type: doc.Type, Status: doc.Status, UserId: doc.UserId, Tag: doc.Tag };
    expect('created document', /^kyc_/.test(doc.Id ?? '') && doc.Status === 'CREATED' && doc.UserId === natural.Id, summary.kyc);

    const pdf = identityPdf();
    summary.kyc.pageBytes = pdf.length;
    const page = await must('Users.createKycPage', () =>
      api.Users.createKycPage(natural.Id, doc.Id, { File: pdf.toString('base64') }));
    summary.kyc.pageResponse = page === undefined ? null : page;

    const tooSmall = await mustFail('Users.createKycPage(too small)', () =>
      api.Users.createKycPage(natural.Id, doc.Id, { File: Buffer.from('%PDF-1.4 tiny').toString('base64') }));
    summary.errors.pageTooSmall = mangoError(tooSmall);
    expect('too small page error', tooSmall?.Type === 'param_error' && typeof tooSmall?.errors?.File === 'string', tooSmall);

    // Submit the way the SDK's own tests do: change Status on the document
    // object the SDK returned and hand it back (the body carries its other
    // fields too).
    doc.Status = 'VALIDATION_ASKED';
    const submitted = await must('Users.updateKycDocument(VALIDATION_ASKED)', () =>
      api.Users.updateKycDocument(natural.Id, doc));
    if (submitted) {
      summary.kyc.submittedStatus = submitted.Status;
      expect('submitted document', submitted.Status === 'VALIDATION_ASKED', submitted.Status);
    }
    const back = await must('Users.getKycDocument', () => api.Users.getKycDocument(natural.Id, doc.Id));
    if (back) {
      summary.kyc.readBack = { Id: back.Id, Status: back.Status, ProcessedDate: back.ProcessedDate ?? null };
      expect('read back document', back.Id === doc.Id && back.Status === 'VALIDATION_ASKED', summary.kyc.readBack);
    }
    const alt = await must('KycDocuments.get', () => api.KycDocuments.get(doc.Id));
    if (alt) {
      summary.kyc.getById = { Id: alt.Id, Status: alt.Status };
      expect('KycDocuments.get', alt.Id === doc.Id, summary.kyc.getById);
    }
    const docs = await must('Users.getKycDocuments', () => api.Users.getKycDocuments(natural.Id));
    if (docs) {
      summary.kyc.listed = docs.map((d) => d.Id);
      expect('list user documents', docs.some((d) => d.Id === doc.Id), summary.kyc.listed);
    }
  }

  section('hooks');
  // 11. Hooks.
  const hook = await must('Hooks.create', () => api.Hooks.create({
    EventType: 'IDENTITY_VERIFICATION_VALIDATED', Url: opt['hook-url'], Tag: 'sdkcompat hook',
  }));
  if (hook) {
    summary.hook = { Id: hook.Id, EventType: hook.EventType, Url: hook.Url, Status: hook.Status, Validity: hook.Validity };
    expect('created hook', hook.Status === 'ENABLED' && hook.Validity === 'VALID' && hook.Url === opt['hook-url'], summary.hook);
    const hooks = await must('Hooks.getAll', () => api.Hooks.getAll());
    if (hooks) {
      summary.hook.listed = hooks.map((h) => h.Id);
      expect('list hooks', hooks.some((h) => h.Id === hook.Id), summary.hook.listed);
    }
    const dup = await mustFail('Hooks.create(same EventType)', () => api.Hooks.create({
      EventType: 'IDENTITY_VERIFICATION_VALIDATED', Url: opt['hook-url'],
    }));
    summary.errors.duplicateHook = mangoError(dup);
    expect('duplicate hook error', dup?.Type === 'param_error', dup);

    section('hookUpdate');
    // Update the way the SDK's own tests do: read the hook, change its Url and
    // hand the object back. The body then also carries EventType, Status,
    // Validity and Tag, all unchanged.
    const newUrl = opt['hook-url'] + (opt['hook-url'].includes('?') ? '&' : '?') + 'v=2';
    const current = await must('Hooks.get', () => api.Hooks.get(hook.Id));
    if (current) {
      current.Url = newUrl;
      const r = await call('Hooks.update(Url)', () => api.Hooks.update(current));
      summary.hookUpdate = r.ok ? { ok: true, Url: r.value.Url } : { ok: false, error: mangoError(r.error) };
      expect('Hooks.update changes the Url', r.ok && r.value.Url === newUrl, r.ok ? r.value.Url : r.error);
    }
  }

  section('events');
  // 12. Events.
  const events = await must('Events.getAll', () => api.Events.getAll(null, { per_page: 100 }));
  if (events) {
    summary.events = { count: events.length, types: [...new Set(events.map((e) => e.EventType))].sort() };
    expect('IDENTITY_VERIFICATION_PENDING event', events.some((e) => e.EventType === 'IDENTITY_VERIFICATION_PENDING' && e.ResourceId === session.Id), summary.events);
  }
  const filtered = await must('Events.getAll(EventType filter)', () =>
    api.Events.getAll(null, { EventType: 'KYC_VALIDATION_ASKED' }));
  if (filtered) {
    summary.events.filtered = filtered.map((e) => ({ EventType: e.EventType, ResourceId: e.ResourceId }));
    expect('filtered events', filtered.length > 0 && filtered.every((e) => e.EventType === 'KYC_VALIDATION_ASKED'), summary.events.filtered);
  }

  section('pagination');
  // The documented query names are page and per_page; the SDK's typings
  // (base.d.ts PaginationOptions) spell them Page and Per_Page, and its own
  // tests send Per_Page against the live Sandbox.
  summary.pagination = {};
  for (const [name, params] of [['per_page', { page: 1, per_page: 2 }], ['Per_Page', { Page: 1, Per_Page: 2 }]]) {
    const r = await must(`Events.getAll(${name}=2)`, () =>
      api.Events.getAll({ parameters: params, resolveWithFullResponse: true }));
    if (r) {
      summary.pagination[name] = {
        count: Array.isArray(r.body) ? r.body.length : null,
        xNumberOfPages: r.headers?.['x-number-of-pages'] ?? null,
        xNumberOfItems: r.headers?.['x-number-of-items'] ?? null,
      };
      expect(`${name}=2 gives a page of 2 events`, summary.pagination[name].count === 2, summary.pagination[name]);
    }
  }

  section('errors');
  // Last, because SDK instances share their request headers (they live on
  // the prototype): a second instance drops the first one's token, which then
  // authenticates again on its next call.
  const intruder = new mangopay({
    clientId: opt['client-id'], clientApiKey: 'not-the-api-key', baseUrl: base, errorHandler: () => {},
  });
  const denied = await mustFail('Users.getSca with a wrong API key', () => intruder.Users.getSca(natural.Id));
  summary.errors.badCredentials = denied && typeof denied === 'object'
    ? { error: denied.error ?? null, error_description: denied.error_description ?? null }
    : { surfaced: denied ?? null };
  expect('bad credentials error', denied?.error === 'invalid_client', denied);
}

async function phaseVerify() {
  const userId = opt['user-id'];
  const sessionId = opt['session-id'];
  const docId = opt['doc-id'];

  section('identityVerification');
  const session = await must('IdentityVerifications.get', () => api.IdentityVerifications.get(sessionId));
  if (session) {
    summary.session = {
      Id: session.Id,
      Status: session.Status,
      UserId: session.UserId,
      LastUpdate: session.LastUpdate,
      Checks: (session.Checks ?? []).map((c) => ({ Type: c.Type, CheckStatus: c.CheckStatus })),
    };
    expect('session validated', session.Status === 'VALIDATED', session.Status);
    expect('session checks', Array.isArray(session.Checks) && session.Checks.length > 0 &&
      session.Checks.every((c) => c.CheckStatus === 'VALIDATED'), session.Checks);
  }
  const listed = await must('IdentityVerifications.getAll', () => api.IdentityVerifications.getAll(userId));
  if (listed) {
    summary.session.list = listed.map((s) => ({ Id: s.Id, Status: s.Status }));
    expect('listed session validated', listed.some((s) => s.Id === sessionId && s.Status === 'VALIDATED'), summary.session.list);
  }

  section('users');
  const user = await must('Users.getSca', () => api.Users.getSca(userId));
  if (user) {
    summary.natural = { Id: user.Id, KYCLevel: user.KYCLevel };
    expect('user REGULAR', user.KYCLevel === 'REGULAR', user.KYCLevel);
  }

  // GET /users/{id}/Regulatory: the SDK's path has a capital R; since 2026
  // the body carries the KYC renewal dates in KycInformation.
  section('regulatory');
  const reg = await must('Users.getRegulatory', () => api.Users.getRegulatory(userId));
  if (reg) {
    summary.regulatory = { Id: reg.Id, ScopeBlocked: reg.ScopeBlocked ?? null, KycInformation: reg.KycInformation ?? null };
    expect('regulatory status of the user', reg.Id === userId && reg.ScopeBlocked?.Inflows === false, summary.regulatory);
    expect('KYC renewal dates', /^\d{4}-\d{2}-\d{2}$/.test(reg.KycInformation?.KycRenewalDeadline ?? '') &&
      /^\d{4}-\d{2}-\d{2}$/.test(reg.KycInformation?.LastKycDate ?? ''), summary.regulatory);
  }

  section('kyc');
  const doc = await must('Users.getKycDocument', () => api.Users.getKycDocument(userId, docId));
  if (doc) {
    summary.kyc = { Id: doc.Id, Status: doc.Status, ProcessedDate: doc.ProcessedDate ?? null };
    expect('document validated', doc.Status === 'VALIDATED' && typeof doc.ProcessedDate === 'number', summary.kyc);
  }
  const all = await must('KycDocuments.getAll(Status filter)', () => api.KycDocuments.getAll(null, { Status: 'VALIDATED' }));
  if (all) {
    summary.kyc.validatedIds = all.map((d) => d.Id);
    expect('list validated documents', all.some((d) => d.Id === docId), summary.kyc.validatedIds);
  }

  section('hooks');
  const hook = await must('Hooks.get', () => api.Hooks.get(opt['hook-id']));
  if (hook) {
    summary.hook = { Id: hook.Id, Status: hook.Status, Validity: hook.Validity };
    expect('hook still valid', hook.Status === 'ENABLED' && hook.Validity === 'VALID', summary.hook);
  }

  section('events');
  const events = await must('Events.getAll(validated)', () =>
    api.Events.getAll(null, { EventType: 'IDENTITY_VERIFICATION_VALIDATED,KYC_SUCCEEDED,USER_KYC_REGULAR', per_page: 100 }));
  if (events) {
    summary.events = events.map((e) => ({ EventType: e.EventType, ResourceId: e.ResourceId }));
    expect('IDENTITY_VERIFICATION_VALIDATED event', events.some((e) => e.EventType === 'IDENTITY_VERIFICATION_VALIDATED' && e.ResourceId === sessionId), summary.events);
    expect('KYC_SUCCEEDED event', events.some((e) => e.EventType === 'KYC_SUCCEEDED' && e.ResourceId === docId), summary.events);
    expect('USER_KYC_REGULAR event', events.some((e) => e.EventType === 'USER_KYC_REGULAR' && e.ResourceId === userId), summary.events);
  }
}

try {
  if (opt.phase === 'run') await phaseRun();
  else await phaseVerify();
} catch (err) {
  expect('the script ran to the end', false, String(err?.stack ?? err));
}
summary.sdkErrorHandlerCalls = sdkErrors.length;
summary.ok = summary.failures.length === 0;
process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
if (!summary.ok) {
  process.stderr.write(`compat.mjs: ${summary.failures.length} check(s) failed against ${opt['base-url']} with ${summary.sdk.name} ${summary.sdk.version}:\n`);
  for (const f of summary.failures) process.stderr.write(`  - [${f.area}] ${f.check}${f.detail ? ': ' + f.detail : ''}\n`);
  process.exitCode = 1;
}
