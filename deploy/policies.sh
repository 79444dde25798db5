#!/usr/bin/env bash
# Sets the RabbitMQ policies an ngobrol deployment may want.
#
#   deploy/policies.sh [NAMESPACE] [VHOST]     (defaults: ngobrol, /)
#
# Run it as a user that may run rabbitmqctl (root, or rabbitmq) on the
# broker's machine. Setting a policy again with the same name replaces it,
# so the script is safe to run more than once. Environment:
#
#   MAILBOX_MAX_LENGTH   the most messages waiting in one mailbox (100000)
#   RABBITMQCTL          the rabbitmqctl command (rabbitmqctl)
#
# Remove the cap with: rabbitmqctl clear_policy -p VHOST NAMESPACE-mailbox-cap
set -euo pipefail

namespace=${1:-ngobrol}
vhost=${2:-/}
max_length=${MAILBOX_MAX_LENGTH:-100000}
rabbitmqctl=${RABBITMQCTL:-rabbitmqctl}

# The server's own rule for a namespace (ngobrol-amqp/src/names.rs): 1 to
# 100 characters of A-Z a-z 0-9 _ . -, not starting with "amq.".
if [[ ! $namespace =~ ^[A-Za-z0-9_.-]{1,100}$ || $namespace == amq.* ]]; then
  echo "policies.sh: invalid namespace: $namespace" >&2
  exit 2
fi
if [[ ! $max_length =~ ^[0-9]+$ ]]; then
  echo "policies.sh: MAILBOX_MAX_LENGTH must be a number, got: $max_length" >&2
  exit 2
fi

# In a regular expression the namespace's dots must be literal.
ns_re=${namespace//./\\.}

# (a) A cap on each user's mailbox.
#
# Mailboxes are the queues <namespace>_<username>: where deliveries wait
# while none of the user's devices is online, and what the original
# console client reads. The pattern "^<namespace>_" matches them and
# nothing else of this namespace that is a queue: the request queue is
# <namespace>, and the dead-letter, session and layout queues are
# <namespace>.dead, <namespace>.session.<id> and <namespace>.layout.2. The
# group exchanges <namespace>_<group id> match too, but the policy applies
# to queues only. The pattern does not stop at a "." because usernames may
# contain one (ana.b's mailbox is <namespace>_ana.b). It would also match
# the queues of another deployment on the same vhost whose namespace starts
# with "<namespace>_"; give such deployments another vhost.
#
# overflow "reject-publish": a full mailbox refuses new messages (the
# broker nacks them) and keeps what it holds. The sender of a direct
# message is answered mailbox_full; the message stays in the history,
# where the recipient's devices find it by sync. For a group message the
# other members get their copy and the sender is answered mailbox_full.
#
# A queue follows one policy only, the matching one of highest priority:
# if the vhost has a catch-all policy of its own, merge its keys into this
# definition, or this policy replaces it for the mailboxes.
"$rabbitmqctl" set_policy -p "$vhost" --apply-to queues --priority 5 \
  "${namespace}-mailbox-cap" \
  "^${ns_re}_" \
  "{\"max-length\":${max_length},\"overflow\":\"reject-publish\"}"

# (b) The dead-letter queue <namespace>.dead needs no policy: the server
# declares it with the arguments x-max-length = dead_letter_capacity
# (10000 by default) and x-overflow = drop-head, so past the cap the oldest
# copies go. A policy that also sets max-length on it makes the broker use
# the lower of the two; a copy the broker refuses is dropped by the server
# with an error line in its log. A queue declared by an
# earlier version without those arguments is kept as it is, with a warning
# in the server's log; delete it (with the server stopped) to have it
# declared again with the cap.

"$rabbitmqctl" list_policies -p "$vhost"
