// The files of a fine-tuned model (adapter, prefix or whole model), each downloadable, or all of them
// as one tar archive.
import { api, seg } from '../api/client.ts';
import type { Artifact, List } from '../api/types.ts';
import { h } from '../dom.ts';
import { downloadButton } from './download-button.ts';

export async function modelArtifacts(model: string, signal: AbortSignal): Promise<HTMLElement> {
  const artifacts = await api<List<Artifact>>(`/v1/models/${seg(model)}/artifacts`, { signal });
  return h(
    'div',
    { class: 'artifacts' },
    h(
      'ul',
      { 'aria-label': `Files of ${model}` },
      artifacts.data.map((a) =>
        h('li', {}, downloadButton(`/v1/models/${seg(model)}/artifacts/${seg(a.name)}`, a.name, a.bytes, signal), h('div', { class: 'id', title: 'sha256' }, `sha256 ${a.sha256}`)),
      ),
    ),
    // The archive's name: the model id with the characters file systems dislike replaced.
    h('p', {}, downloadButton(`/v1/models/${seg(model)}/artifacts.tar`, `${model.replace(/[^A-Za-z0-9._-]+/g, '_')}.tar`, null, signal)),
  );
}
