// Precommits that arrive after the decision. A node decides the moment it holds precommits of
// more than 2/3 of the power, so the commit it saw has exactly the fastest quorum — on a LAN of
// four equal validators, three signatures, the slowest node's almost never. The next block
// carries this node's commit as its last commit (if it proposes), and the chain counts
// validation and uptime credits from those signatures: with one block an hour on an idle chain
// (issue 24), a signature left out costs its validator a whole hour of uptime. So a precommit for
// the head block that arrives later — same height, round and block, by a validator of that
// height, correctly signed — is added to the commit the next proposal carries. More signatures
// never make a commit invalid (apply.ts verifies each one and needs > 2/3); an honest proposer
// includes all it has (credits/README: it may leave some out, never add one).
import type { Commit } from '../codec/block.js';
import type { VoteMessage } from '../codec/messages.js';
import type { ValidatorEntry } from '../chain/state.js';

/** `commit` with `vote` added, or null when the vote does not belong in it (or is there already). */
export function extendCommit(commit: Commit, vote: VoteMessage, validators: readonly ValidatorEntry[], verified: (v: VoteMessage) => boolean): Commit | null {
  if (vote.type !== 'precommit' || vote.height !== commit.height || vote.round !== commit.round) return null;
  if (!vote.value || !vote.value.equals(commit.blockHash)) return null;
  const key = vote.validator.toString('hex');
  if (!validators.some((v) => v.publicKey === key && v.power > 0)) return null;
  if (commit.signatures.some((s) => s.validator.equals(vote.validator))) return null;
  if (!verified(vote)) return null;
  const signatures = [...commit.signatures, { validator: vote.validator, signature: vote.signature }].sort((a, b) => Buffer.compare(a.validator, b.validator));
  return { ...commit, signatures };
}
