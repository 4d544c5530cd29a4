// Decisions from the page: approve, reject, abort, pause, resume. Each asks for confirmation in a
// modal dialog (native <dialog>: focus moves into it, Escape cancels), goes through the gateway's
// decision API (POST /api/releases/<id>/<action>, the CLI's path), and shows what came back: the
// release's answer, or its validator's refusal word for word.
import { ApiError, credentials, decide, enc, type Session } from './api';
import { announce, fill, h } from './dom';
import type { ReleaseStatus } from './types';

export type Action = 'approve' | 'reject' | 'abort' | 'pause' | 'resume';

const VERB: Record<Action, string> = { approve: 'Approve', reject: 'Reject', abort: 'Abort', pause: 'Pause', resume: 'Resume' };

/** The actions the release's state allows now. */
export function availableActions(s: ReleaseStatus | null, execution: string): Action[] {
  if (!s || execution !== 'RUNNING') return [];
  const out: Action[] = [];
  if (s.approvals.pending) out.push('approve', 'reject');
  out.push(s.paused ? 'resume' : 'pause');
  // A canary waiting at `pause: {}` (spec/describe-step.ts) is resumed too; a timed pause is not.
  if (!s.paused && s.canary?.description === 'pause until resumed') out.push('resume');
  out.push('abort');
  return out;
}

export function actionBar(opts: { releaseId: string; status: ReleaseStatus | null; execution: string; session: Session; onDone: () => void; result: HTMLElement }): HTMLElement {
  const actions = availableActions(opts.status, opts.execution);
  const bar = h('div', { class: 'actions', role: 'group', 'aria-label': 'Release actions' });
  if (!actions.length) return bar;
  const pending = opts.status?.approvals.pending;
  for (const action of actions) {
    bar.append(
      h('button', { type: 'button', class: action === 'abort' || action === 'reject' ? 'danger' : '', 'data-action': action, onclick: () => openDialog(action) }, pending && (action === 'approve' || action === 'reject') ? `${VERB[action]} ${pending.gate}` : VERB[action]),
    );
  }

  function openDialog(action: Action) {
    const isDecision = action === 'approve' || action === 'reject';
    const textId = `dialog-${action}-text`;
    const nameId = `dialog-${action}-name`;
    const needsName = !opts.session.tokens;
    const error = h('p', { class: 'error', role: 'alert', hidden: true });
    const confirm = h('button', { type: 'submit', class: action === 'abort' || action === 'reject' ? 'danger' : '' }, `${VERB[action]}`);
    const form = h(
      'form',
      { method: 'dialog' },
      h('h2', { id: `dialog-${action}-title` }, isDecision ? `${VERB[action]} gate ${pending?.gate}?` : `${VERB[action]} this release?`),
      h('p', {}, opts.releaseId),
      isDecision && pending ? h('p', { class: 'muted' }, `Approvers: ${pending.approvers.join(', ')}; ${pending.approvedBy.length} of ${pending.required} approved so far.`) : null,
      needsName
        ? h('div', { class: 'field' }, h('label', { for: nameId }, 'Your name (development mode: recorded as unauthenticated)'), h('input', { id: nameId, name: 'by', required: true, value: credentials.name() ?? '', autocomplete: 'username' }))
        : null,
      h('div', { class: 'field' }, h('label', { for: textId }, isDecision ? 'Comment (optional)' : 'Reason (optional)'), h('textarea', { id: textId, name: 'text', rows: 3, maxlength: 2000 })),
      error,
      h('div', { class: 'buttons' }, confirm, h('button', { type: 'button', class: 'secondary', value: 'cancel', onclick: () => dialog.close('cancel') }, 'Cancel')),
    );
    const dialog = h('dialog', { 'aria-labelledby': `dialog-${action}-title` }, form);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const data = new FormData(form);
      if (needsName) credentials.setName(String(data.get('by') ?? '').trim() || null);
      const text = String(data.get('text') ?? '').trim();
      const body: Record<string, unknown> = isDecision ? { gate: pending?.gate, ...(text ? { comment: text } : {}) } : text ? { reason: text } : {};
      confirm.disabled = true;
      try {
        const reply = await decide<Record<string, unknown>>(`/api/releases/${enc(opts.releaseId)}/${action}`, body);
        dialog.close('done');
        const what = isDecision
          ? `${reply.decision} gate ${reply.gate} (${reply.approvals} of ${reply.required} approval${reply.required === 1 ? '' : 's'}${reply.closed ? ', gate closed' : ''})`
          : `${action} ${reply.changed ? 'accepted' : 'changed nothing (already so)'}`;
        fill(opts.result, h('p', { class: 'ok', role: 'status' }, `Done — ${what}, by ${reply.by ?? credentials.name() ?? 'you'}${reply.authenticated === false ? ' (unauthenticated)' : ''}.`));
        announce(`${VERB[action]} done`);
        opts.onDone();
      } catch (err) {
        const message = err instanceof ApiError ? `${err.status === 403 ? 'Refused' : err.title}: ${err.detail ?? err.message}` : (err as Error).message;
        error.textContent = message;
        error.hidden = false;
        confirm.disabled = false;
      }
    });
    dialog.addEventListener('close', () => dialog.remove());
    document.body.append(dialog);
    dialog.showModal();
  }
  return bar;
}
