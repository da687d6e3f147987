// A real OpenID Connect provider on loopback for the single sign-on tests (docs/production.md).
//
// It is panva's `oidc-provider` (the certified library many identity products are built on),
// with a small login page of its own and a few test-only endpoints, so the tests drive what a
// company's identity provider does: people sign in with a password, and their sign-in says how
// (`amr`: ["pwd"] or ["pwd", "otp"]); people are added and removed; clients are registered
// by the standard dynamic registration endpoint (the tests' live server has a random port).
//
//   node scripts/oidc_provider.mjs PORT
//
// Test-only endpoints (never part of a real provider):
//   PUT    /_test/users/<login>  {"email", "password", "name", "amr": ["pwd", "otp"]}
//   DELETE /_test/users/<login>  the person is removed: no sign-in, no token for them
//   PUT    /_test/tamper         {"aud": "...", "iss": "..."} the next ID tokens are re-signed
//                                with the provider's own key for that audience or issuer ({}: off)
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(process.env.OIDC_NODE_MODULES || '.', 'x.js'));
const { default: Provider } = await import(require.resolve('oidc-provider'));
const jose = await import(require.resolve('jose'));

const port = Number(process.argv[2] || 0);
const issuer = `http://127.0.0.1:${port}`;

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const signingKey = { ...(await jose.exportJWK(privateKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };

const users = new Map(); // login -> {email, password, name, amr}
let tamper = {};

const provider = new Provider(issuer, {
  jwks: { keys: [signingKey] },
  features: {
    devInteractions: { enabled: false },
    registration: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      // Its own pages, plain and accessible: the browser tests check every page with axe.
      async logoutSource(ctx, form) {
        ctx.body = page('Sign out of the company account', `${form}
<button type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>`);
      },
      async postLogoutSuccessSource(ctx) {
        ctx.body = page('Signed out', '<p>You are signed out of the company account.</p>');
      },
    },
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Sign-in error', `<p>${escape(out.error)}: ${escape(out.error_description || '')}</p>`);
  },
  claims: {
    openid: ['sub', 'acr', 'amr', 'auth_time'], email: ['email', 'email_verified'], profile: ['name'],
  },
  scopes: ['openid', 'email', 'profile'],
  pkce: { required: () => false },
  cookies: { keys: ['test-only-cookie-key'] },
  async findAccount(ctx, sub) {
    const user = users.get(sub);
    if (!user) return undefined;
    return {
      accountId: sub,
      async claims() {
        return { sub, email: user.email, email_verified: true, name: user.name };
      },
    };
  },
  // Consent is the company's business, not this test's: every client gets what it asks.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      const found = await ctx.oidc.provider.Grant.find(grantId);
      if (found) return found;
    }
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    grant.addOIDCClaims(['email', 'email_verified', 'name', 'amr', 'acr', 'auth_time']);
    await grant.save();
    return grant;
  },
});
provider.proxy = false;
provider.on('server_error', (ctx, error) => console.error('server_error', error));

async function body(ctx) {
  const chunks = [];
  for await (const chunk of ctx.req) chunks.push(chunk);
  return Buffer.concat(chunks).toString();
}

function page(title, inner) {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>${title}</h1>${inner}</main></body></html>`;
}

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/_test\/users\/([^/]+)$/);
  if (match) {
    const login = decodeURIComponent(match[1]);
    if (ctx.method === 'PUT') {
      users.set(login, JSON.parse(await body(ctx)));
    } else if (ctx.method === 'DELETE') {
      users.delete(login);
    }
    ctx.status = 204;
    return;
  }
  if (ctx.path === '/_test/tamper' && ctx.method === 'PUT') {
    tamper = JSON.parse(await body(ctx));
    ctx.status = 204;
    return;
  }

  if (ctx.path === '/auth') {
    // A person removed here is signed out here too, as a company's provider does: their
    // session no longer stands for anyone, so the provider asks who is signing in.
    const sessionId = ctx.cookies.get(provider.cookieName('session'));
    const session = sessionId && await provider.Session.find(sessionId);
    if (session?.accountId && !users.has(session.accountId)) await session.destroy();
  }

  const interaction = ctx.path.match(/^\/interaction\/([^/]+)$/);
  if (interaction) {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (ctx.method === 'GET' && details.prompt.name === 'login') {
      ctx.type = 'html';
      ctx.body = page('Company sign-in', `<form method="post">
<label>Login <input name="login" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button></form>`);
      return;
    }
    if (ctx.method === 'GET') {
      // consent: granted by loadExistingGrant above
      ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, { consent: {} }));
      return;
    }
    const form = new URLSearchParams(await body(ctx));
    const login = form.get('login') || '';
    const user = users.get(login);
    if (!user || user.password !== form.get('password')) {
      ctx.status = 401;
      ctx.type = 'html';
      ctx.body = page('Company sign-in', `<p role="alert">No such person, or a wrong password: ${escape(login)}</p>
<form method="post"><label>Login <input name="login"></label>
<label>Password <input name="password" type="password"></label>
<button type="submit">Sign in</button></form>`);
      return;
    }
    const result = { login: { accountId: login, amr: user.amr || ['pwd'], acr: user.acr } };
    ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result));
    return;
  }

  await next();

  if (ctx.path === '/token' && ctx.body?.id_token && (tamper.aud || tamper.iss)) {
    const claims = jose.decodeJwt(ctx.body.id_token);
    const forged = { ...claims, aud: tamper.aud || claims.aud, iss: tamper.iss || claims.iss };
    ctx.body = {
      ...ctx.body,
      id_token: await new jose.SignJWT(forged)
        .setProtectedHeader({ alg: 'RS256', kid: signingKey.kid })
        .sign(privateKey),
    };
  }
});

provider.listen(port, '127.0.0.1', () => {
  process.stdout.write(`oidc-provider listening on ${issuer}\n`);
});
