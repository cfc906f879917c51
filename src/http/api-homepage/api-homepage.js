/*
 * The API homepage's own parts for Swagger UI (served as a theme script, run before Swagger UI
 * starts): Tessera's top bar instead of Swagger's (no "Explore" bar), and an email-and-password
 * sign-in in the Authorize dialog instead of the OAuth form (no client id or secret: Tessera has
 * no OAuth clients). Plain browser JavaScript, no build step: the page's CSP allows only files
 * from this server.
 */
(() => {
  /** @param {any} system Swagger UI's system: React, component lookup, actions and selectors. */
  function TesseraApiHomepage(system) {
    const React = system.React;
    const h = React.createElement;

    function Logo() {
      return h(
        'svg',
        { xmlns: 'http://www.w3.org/2000/svg', viewBox: '0 0 32 32', width: 28, height: 28, 'aria-hidden': 'true', focusable: 'false' },
        h('rect', { width: 32, height: 32, rx: 7, fill: '#1f4e5f' }),
        h('path', { d: 'M8 8h7v7H8zM17 8h7v7h-7zM8 17h7v7H8z', fill: '#f2c14e' }),
        h('path', { d: 'M17 17h7v7h-7z', fill: '#fff' }),
      );
    }

    /**
     * `Component` with attributes set on elements inside it: `marks` maps a CSS selector to the
     * attributes (from the props) its elements get, when known. Swagger UI's components take no
     * such props; the attributes are set after each render (React leaves alone attributes it
     * does not manage).
     */
    function marked(Component, marks) {
      return function Marked(props) {
        const box = React.useRef(null);
        React.useEffect(() => {
          for (const [selector, attributesOf] of Object.entries(marks)) {
            for (const element of box.current?.querySelectorAll(selector) ?? []) {
              for (const [attribute, value] of Object.entries(attributesOf(props))) if (value) element.setAttribute(attribute, value);
            }
          }
        });
        return h('div', { ref: box, className: 'tessera-marked' }, h(Component, props));
      };
    }

    function TesseraLayout() {
      const BaseLayout = system.getComponent('BaseLayout', true);
      return h(
        'div',
        { className: 'tessera-page' },
        h(
          'header',
          { className: 'tessera-topbar' },
          h('a', { className: 'tessera-brand', href: '/' }, h(Logo), h('span', null, 'Tessera'), ' ', h('span', { className: 'tessera-brand-sub' }, 'API')),
          h('a', { className: 'tessera-console-link', href: '/' }, 'Open the console'),
        ),
        // Swagger UI's layout has its own <main>.
        h(BaseLayout),
      );
    }

    /**
     * "userPassword" in the Authorize dialog: the user's email and password, exchanged at the
     * scheme's token URL (POST /api/v1/token, the OAuth 2.0 password grant) for a one-hour
     * token that Swagger UI then sends as `Authorization: Bearer <token>`.
     */
    function EmailPasswordAuth(props) {
      const { schema, name, authorized, authActions } = props;
      const Markdown = system.getComponent('Markdown', true);
      const [email, setEmail] = React.useState('');
      const [password, setPassword] = React.useState('');
      const [busy, setBusy] = React.useState(false);
      const [error, setError] = React.useState('');
      const signedInAs = authorized?.getIn([name, 'username']);
      const ids = { email: `${name}-email`, password: `${name}-password`, error: `${name}-error` };

      async function signIn(event) {
        event.preventDefault();
        setBusy(true);
        setError('');
        try {
          const answer = await fetch(new URL(schema.get('tokenUrl'), window.location.href), {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
            body: new URLSearchParams({ grant_type: 'password', username: email.trim(), password }),
          });
          const body = await answer.json().catch(() => ({}));
          if (!answer.ok || typeof body.access_token !== 'string') {
            setError(body.detail || `The sign-in failed (HTTP ${answer.status}).`);
            return;
          }
          setPassword('');
          authActions.authorizeOauth2WithPersistOption({ auth: { name, schema, username: email.trim() }, token: body });
        } catch {
          setError('The server cannot be reached. Check your connection and try again.');
        } finally {
          setBusy(false);
        }
      }

      const title = h('h4', null, 'Email and password');
      const description = h(Markdown, { source: schema.get('description') });
      if (signedInAs !== undefined) {
        return h(
          'div',
          { className: 'tessera-auth' },
          title,
          h('p', null, 'Signed in as ', h('strong', null, signedInAs), '. Calls on this page send your one-hour user token.'),
          h(
            'div',
            { className: 'auth-btn-wrapper' },
            h('button', { type: 'button', className: 'btn modal-btn auth', onClick: () => authActions.logoutWithPersistOption([name]) }, 'Sign out'),
          ),
        );
      }
      return h(
        'form',
        { className: 'tessera-auth', onSubmit: signIn },
        title,
        description,
        h(
          'div',
          { className: 'tessera-field' },
          h('label', { htmlFor: ids.email }, 'Email'),
          h('input', {
            id: ids.email,
            type: 'email',
            autoComplete: 'username',
            required: true,
            value: email,
            onChange: (e) => setEmail(e.target.value),
            'aria-describedby': error ? ids.error : undefined,
          }),
        ),
        h(
          'div',
          { className: 'tessera-field' },
          h('label', { htmlFor: ids.password }, 'Password'),
          h('input', {
            id: ids.password,
            type: 'password',
            autoComplete: 'current-password',
            required: true,
            value: password,
            onChange: (e) => setPassword(e.target.value),
            'aria-describedby': error ? ids.error : undefined,
          }),
        ),
        error ? h('p', { id: ids.error, className: 'tessera-error', role: 'alert' }, error) : null,
        h(
          'div',
          { className: 'auth-btn-wrapper' },
          h('button', { type: 'submit', className: 'btn modal-btn auth authorize', disabled: busy }, busy ? 'Signing in…' : 'Sign in'),
        ),
      );
    }

    return {
      components: { TesseraLayout, oauth2: EmailPasswordAuth },
      wrapComponents: {
        // Swagger UI's server list is a <select> inside an empty <label>: give it a name.
        Servers: (Servers) => (props) =>
          h('div', { className: 'tessera-servers' }, h('label', { htmlFor: 'servers', className: 'tessera-servers-label' }, 'Server'), h(Servers, props)),
        // Fields Swagger UI leaves without a name a person can use (axe: label, select-name).
        HttpAuth: (HttpAuth) => marked(HttpAuth, { '#auth-bearer-value': () => ({ 'aria-label': 'API access key or user token' }) }),
        JsonSchema_string: (JsonSchemaString) => marked(JsonSchemaString, { select: (props) => ({ 'aria-label': props.description }) }),
        // Swagger UI's Authorize window is a plain <div>, its ✕ button unnamed: a modal dialog.
        authorizationPopup: (Popup) =>
          marked(Popup, {
            '.modal-ux': () => ({ role: 'dialog', 'aria-modal': 'true', 'aria-label': 'Authorize' }),
            '.close-modal': () => ({ 'aria-label': 'Close' }),
          }),
      },
    };
  }

  window.TesseraApiHomepage = TesseraApiHomepage;
})();
