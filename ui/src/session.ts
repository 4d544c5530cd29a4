// Who the page acts as. With OIDC on (production), the user pastes an ID token (`shipyard token`
// prints the one `shipyard login` saved); the gateway verifies it on every call and names the
// identity here. Without OIDC (development) the page says decisions are unauthenticated.
import { ApiError, credentials, get, type Session } from './api';
import { fill, h } from './dom';

/** The session; a stored token the gateway refuses (expired, foreign) is forgotten and said why. */
export async function loadSession(): Promise<{ session: Session; refused?: string }> {
  try {
    return { session: await get<Session>('/api/session') };
  } catch (err) {
    if (credentials.token() && err instanceof ApiError && err.status === 401) {
      credentials.setToken(null);
      return { session: await get<Session>('/api/session'), refused: err.detail ?? err.message };
    }
    throw err;
  }
}

export function renderSession(el: HTMLElement, session: Session, changed: () => void, refused?: string): void {
  if (!session.tokens) {
    fill(el, h('span', { class: 'mode' }, `${session.mode} mode: no sign-in; decisions are recorded as unauthenticated`));
    return;
  }
  if (session.identity) {
    fill(
      el,
      h('span', {}, `Signed in as ${session.identity}${session.groups?.length ? ` (${session.groups.join(', ')})` : ''}`),
      ' ',
      h('button', { type: 'button', class: 'secondary', onclick: () => (credentials.setToken(null), changed()) }, 'Sign out'),
    );
    return;
  }
  const form = h(
    'form',
    { class: 'signin' },
    h('label', { for: 'id-token' }, 'ID token'),
    h('input', { id: 'id-token', name: 'token', type: 'password', required: true, autocomplete: 'off', placeholder: 'output of shipyard token' }),
    h('button', { type: 'submit' }, 'Sign in'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    credentials.setToken(String(new FormData(form).get('token') ?? '').trim() || null);
    changed();
  });
  fill(el, form, refused ? h('p', { class: 'error', role: 'alert' }, `Token refused: ${refused}`) : null);
}
