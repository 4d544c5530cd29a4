// The dashboard's router: hash routes, so the gateway serves one page and links work offline.
//   #/?service=&...            releases          #/releases/<id>   one release
//   #/services?window=30d      services (DORA)   #/services/<name> one service
//   #/trains                   trains            #/trains/<id>     one train
import './style.css';
import type { Session } from './api';
import { fill, h } from './dom';
import { releasePage } from './release';
import { releasesPage } from './releases';
import { servicePage, servicesPage } from './services';
import { loadSession, renderSession } from './session';
import { trainPage, trainsPage } from './trains';

const main = document.getElementById('main')!;
let stop: () => void = () => undefined;
let session: Session = { mode: 'development', tokens: false };

function route(): void {
  const hash = location.hash || '#/';
  if (!hash.startsWith('#/')) return;
  const [path, query = ''] = hash.slice(1).split('?');
  const params = new URLSearchParams(query);
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  stop();
  document.querySelectorAll('nav a[data-nav]').forEach((a) => a.removeAttribute('aria-current'));
  const section = parts[0] ?? 'releases';
  document.querySelector(`nav a[data-nav="${section === 'releases' ? 'releases' : section}"]`)?.setAttribute('aria-current', 'page');
  if (session.tokens && !session.identity) {
    fill(main, h('h1', {}, 'Sign in'), h('p', {}, 'This gateway verifies who you are. Run shipyard login, then paste the output of shipyard token above.'));
    stop = () => undefined;
    return;
  }
  if (parts[0] === 'releases' && parts[1]) stop = releasePage(main, parts.slice(1).join('/'), session);
  else if (parts[0] === 'services' && parts[1]) stop = servicePage(main, parts.slice(1).join('/'), params);
  else if (parts[0] === 'services') stop = servicesPage(main, params);
  else if (parts[0] === 'trains' && parts[1]) stop = trainPage(main, parts.slice(1).join('/'));
  else if (parts[0] === 'trains') stop = trainsPage(main);
  else stop = releasesPage(main, params);
  document.title = `Shipyard — ${parts[0] ?? 'releases'}${parts[1] ? ` ${parts.slice(1).join('/')}` : ''}`;
  // Focus moves to the new page's content so keyboard and screen-reader users start there.
  main.focus({ preventScroll: true });
}

async function start(): Promise<void> {
  let refused: string | undefined;
  try {
    ({ session, refused } = await loadSession());
  } catch (err) {
    fill(main, h('p', { class: 'error', role: 'alert' }, `The gateway did not answer: ${(err as Error).message}`));
    return;
  }
  renderSession(document.getElementById('session')!, session, () => void start(), refused);
  route();
}

window.addEventListener('hashchange', route);
void start();
