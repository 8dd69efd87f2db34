#!/usr/bin/env bash
# Prepare a Google Cloud project for the bot, from nothing. Safe to run again: every resource is
# looked up first and created only if missing, so a second run changes nothing.
#
#   deploy/bootstrap.sh --project my-project [--region us-central1] [--dry-run]
#                       [--connection my-github --repository mentor-bot]
#
# Secrets are read from the environment (FB_PAGE_ACCESS_TOKEN, FB_APP_SECRET, TELEGRAM_BOT_TOKEN,
# WEB_CHAT_TOKEN, ADMIN_TOKEN, ...) or asked for without echo; FB_VERIFY_TOKEN, TELEGRAM_SECRET_TOKEN and
# TASKS_TOKEN are generated if not given. A channel whose secrets you leave empty stays off.
# OWNER_NAME, OWNER_CONTACT (shown on /privacy), RETENTION_DAYS and FB_APP_ID, when set, go to the trigger;
# BUDGET_USD (say 5) adds a budget that e-mails the billing admins at 50, 90 and 100 % of it.
# The build trigger needs the GitHub repository linked to Cloud Build first (2nd gen, same region).
set -euo pipefail

PROJECT="${GOOGLE_CLOUD_PROJECT:-}"
REGION="us-central1"
SERVICE="mentor-bot"
AR_REPO="chatbot"
CONNECTION=""
REPOSITORY=""
DRY_RUN=0
WAIT_TRIES="${BOOTSTRAP_WAIT_TRIES:-20}"  # how long to wait for what was just created: tries ...
WAIT_SECONDS="${BOOTSTRAP_WAIT_SECONDS:-6}"  # ... times this many seconds

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --project) PROJECT="$2"; shift 2 ;;
        --region) REGION="$2"; shift 2 ;;
        --service) SERVICE="$2"; shift 2 ;;
        --connection) CONNECTION="$2"; shift 2 ;;
        --repository) REPOSITORY="$2"; shift 2 ;;
        --dry-run) DRY_RUN=1; shift ;;
        -h|--help) usage 0 ;;
        *) echo "unknown option: $1" >&2; usage 2 ;;
    esac
done
[ -n "$PROJECT" ] || { echo "give --project (or set GOOGLE_CLOUD_PROJECT)" >&2; exit 2; }

RUNTIME_SA="${SERVICE}-runtime@${PROJECT}.iam.gserviceaccount.com"
BUILD_SA="${SERVICE}-deployer@${PROJECT}.iam.gserviceaccount.com"
SCHEDULER_SA="${SERVICE}-scheduler@${PROJECT}.iam.gserviceaccount.com"
SECRETS="fb-page-access-token fb-app-secret fb-verify-token telegram-bot-token telegram-secret-token tasks-token web-chat-token admin-token"
DEPLOYER_READS="fb-page-access-token telegram-bot-token telegram-secret-token"  # what set-webhooks uses
CHANGES=0

g() { gcloud --project="$PROJECT" --quiet "$@"; }

# Run a command that changes something, or only print it with --dry-run. IAM is eventually
# consistent (a service account made a moment ago may not be bindable yet): a failed change is
# tried again a few times before the run stops with gcloud's own words.
change() {
    CHANGES=$((CHANGES + 1))
    if [ "$DRY_RUN" -eq 1 ]; then echo "would run: gcloud $*"; return 0; fi
    echo "+ gcloud $*"
    local attempt err
    for attempt in 1 2 3 4 5; do
        if err=$(g "$@" 2>&1 >/dev/null); then return 0; fi
        echo "  not yet (attempt $attempt): $(echo "$err" | tail -1)" >&2
        sleep $((attempt * 2))
    done
    echo "failed: gcloud $*" >&2
    echo "$err" >&2
    exit 1
}

# 0: it exists; 1: it does not. Anything else (permission denied, an API still being enabled)
# is not "missing": wait for an API that is not ready, stop on the rest.
exists() {
    local attempt err
    for attempt in $(seq "$WAIT_TRIES"); do
        if err=$(g "$@" 2>&1 >/dev/null); then return 0; fi
        case "$err" in
            *NOT_FOUND*|*"not found"*|*"does not exist"*) return 1 ;;
            *SERVICE_DISABLED*|*"has not been used"*|*"it is disabled"*)
                echo "  waiting for the API to be ready (attempt $attempt)" >&2; sleep "$WAIT_SECONDS" ;;
            *) echo "could not tell whether it exists: gcloud $*" >&2; echo "$err" >&2; exit 1 ;;
        esac
    done
    echo "gave up waiting: gcloud $*" >&2
    exit 1
}

# After creating something: wait until it can be read back, bounded, saying what it waits for.
wait_for() {  # description, then the describe command
    local what="$1" attempt
    shift
    [ "$DRY_RUN" -eq 1 ] && return 0
    for attempt in $(seq "$WAIT_TRIES"); do
        if g "$@" >/dev/null 2>&1; then return 0; fi
        echo "  waiting for $what (attempt $attempt of $WAIT_TRIES)"
        sleep "$WAIT_SECONDS"
    done
    echo "$what is still not ready: run this script again in a few minutes (it picks up where it stopped)" >&2
    exit 1
}

step() { printf '\n== %s\n' "$1"; }

step "APIs"
enabled=$(g services list --enabled --format='value(config.name)')
for api in run cloudbuild artifactregistry firestore secretmanager cloudscheduler iam ${BUDGET_USD:+cloudbilling billingbudgets}; do
    case " $(echo "$enabled" | tr '\n' ' ') " in
        *" ${api}.googleapis.com "*) ;;
        *) change services enable "${api}.googleapis.com" ;;
    esac
done

step "Artifact Registry repository ${AR_REPO} (${REGION}), keeping the newest images"
exists artifacts repositories describe "$AR_REPO" --location="$REGION" || {
    change artifacts repositories create "$AR_REPO" --location="$REGION" --repository-format=docker \
        --description="Images of the ${SERVICE} chatbot"
    wait_for "the Artifact Registry repository" artifacts repositories describe "$AR_REPO" --location="$REGION"
}
policies=$(g artifacts repositories list-cleanup-policies "$AR_REPO" --location="$REGION" --format=json 2>/dev/null || true)
case "$policies" in
    *keep-newest*) ;;
    *)
        policy_file=$(mktemp)
        cat >"$policy_file" <<'JSON'
[
  {"name": "keep-newest", "action": {"type": "Keep"}, "mostRecentVersions": {"keepCount": 10}},
  {"name": "delete-older", "action": {"type": "Delete"}, "condition": {"olderThan": "2592000s"}}
]
JSON
        change artifacts repositories set-cleanup-policies "$AR_REPO" --location="$REGION" --policy="$policy_file"
        ;;
esac

step "Firestore (native mode) and its TTL policies"
exists firestore databases describe --database='(default)' || {
    change firestore databases create --database='(default)' --location="$REGION" --type=firestore-native
    wait_for "the Firestore database" firestore databases describe --database='(default)'
}
for group in conversations reminders suggestions reports deletions; do
    state=$(g firestore fields ttls list --collection-group="$group" --format='value(ttlConfig.state)')
    case "$state" in
        *ACTIVE*|*CREATING*) ;;
        *) change firestore fields ttls update expire_at --collection-group="$group" --enable-ttl --async ;;
    esac
done
# A conversation's packed state is one long string that no query reads: no single-field indexes for it
# (every indexed value is stored again and written on every message).
inherits=$(g firestore indexes fields describe packed --collection-group=conversations \
    --format='value(indexConfig.usesAncestorConfig)' 2>/dev/null || true)
case "$inherits" in
    False|false) ;;
    *) change firestore indexes fields update packed --collection-group=conversations --disable-indexes --async ;;
esac

step "Service accounts"
for sa in "$RUNTIME_SA:runs the bot" "$BUILD_SA:builds and deploys the bot" "$SCHEDULER_SA:calls the reminders task"; do
    email="${sa%%:*}"
    exists iam service-accounts describe "$email" || {
        change iam service-accounts create "${email%%@*}" --display-name="${SERVICE}: ${sa#*:}"
        wait_for "service account $email" iam service-accounts describe "$email"
    }
done

step "Secrets"
secret_value() {  # $1: secret name -> value from the environment, generated, or asked for
    local var value
    var=$(echo "$1" | tr 'a-z-' 'A-Z_')
    value="${!var:-}"
    if [ -z "$value" ]; then
        case "$1" in
            fb-verify-token|telegram-secret-token|tasks-token) value=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n') ;;
            web-chat-token|admin-token) ;;  # optional: the web chat and the dashboard stay off without them
            *) if [ -t 0 ] && [ "$DRY_RUN" -eq 0 ]; then read -rsp "  $var (empty to leave this channel off): " value; echo; fi ;;
        esac
    fi
    printf '%s' "$value"
}
for secret in $SECRETS; do
    if exists secrets describe "$secret"; then continue; fi
    value=$(secret_value "$secret")
    if [ -z "$value" ]; then echo "  $secret: no value, skipped"; continue; fi
    CHANGES=$((CHANGES + 1))
    if [ "$DRY_RUN" -eq 1 ]; then
        echo "would run: gcloud secrets create $secret --replication-policy=automatic --data-file=-"
    else
        echo "+ gcloud secrets create $secret (value from stdin, not shown)"
        printf '%s' "$value" | g secrets create "$secret" --replication-policy=automatic --data-file=- >/dev/null
    fi
done

step "Roles (least privilege)"
bind_project() {  # member role
    local members
    members=$(g projects get-iam-policy "$PROJECT" --flatten='bindings[].members' \
        --filter="bindings.role=$2" --format='value(bindings.members)')
    echo "$members" | grep -qx "$1" || change projects add-iam-policy-binding "$PROJECT" --member="$1" --role="$2" --condition=None
}
bind_resource() {  # "command group" name member role [extra flags...]
    local -a group
    local name="$2" member="$3" role="$4" members
    read -ra group <<<"$1"
    shift 4
    members=$(g "${group[@]}" get-iam-policy "$name" "$@" --flatten='bindings[].members' \
        --filter="bindings.role=$role" --format='value(bindings.members)')
    echo "$members" | grep -qx "$member" ||
        change "${group[@]}" add-iam-policy-binding "$name" "$@" --member="$member" --role="$role"
}
secret_exists() { [ "$DRY_RUN" -eq 1 ] || exists secrets describe "$1"; }
# The bot: read and write Firestore, read its own secrets. Nothing else.
bind_project "serviceAccount:$RUNTIME_SA" roles/datastore.user
for secret in $SECRETS; do
    if secret_exists "$secret"; then
        bind_resource secrets "$secret" "serviceAccount:$RUNTIME_SA" roles/secretmanager.secretAccessor
    fi
done
# The pipeline: deploy Cloud Run as the runtime account, push images, write build logs, see which
# secrets exist and their versions (metadata, not values), and read the three that set-webhooks uses.
bind_project "serviceAccount:$BUILD_SA" roles/run.admin
bind_project "serviceAccount:$BUILD_SA" roles/logging.logWriter
bind_project "serviceAccount:$BUILD_SA" roles/secretmanager.viewer
bind_resource "iam service-accounts" "$RUNTIME_SA" "serviceAccount:$BUILD_SA" roles/iam.serviceAccountUser
bind_resource "artifacts repositories" "$AR_REPO" "serviceAccount:$BUILD_SA" roles/artifactregistry.writer --location="$REGION"
for secret in $DEPLOYER_READS; do
    if secret_exists "$secret"; then
        bind_resource secrets "$secret" "serviceAccount:$BUILD_SA" roles/secretmanager.secretAccessor
    fi
done

# The owner's settings the service shows on /privacy, as trigger substitutions (only those given).
owner_settings() {
    local name
    for name in OWNER_NAME OWNER_CONTACT RETENTION_DAYS FB_APP_ID; do
        [ -z "${!name:-}" ] || printf '|_%s=%s' "$name" "${!name}"
    done
}

step "Cloud Build trigger on push to main"
if [ -n "$CONNECTION" ] && [ -n "$REPOSITORY" ]; then
    if ! exists builds repositories describe "$REPOSITORY" --connection="$CONNECTION" --region="$REGION"; then
        echo "  the repository $REPOSITORY is not linked in connection $CONNECTION ($REGION): in the console," >&2
        echo "  Cloud Build > Repositories > 2nd gen, create the connection in $REGION and link the repository," >&2
        echo "  then run this again" >&2
        exit 1
    fi
    exists builds triggers describe "${SERVICE}-deploy" --region="$REGION" ||
        change builds triggers create github --name="${SERVICE}-deploy" --region="$REGION" \
            --repository="projects/${PROJECT}/locations/${REGION}/connections/${CONNECTION}/repositories/${REPOSITORY}" \
            --branch-pattern='^main$' --build-config=cloudbuild.yaml \
            --service-account="projects/${PROJECT}/serviceAccounts/${BUILD_SA}" \
            --substitutions="^|^_REGION=${REGION}|_SERVICE=${SERVICE}|_AR_REPO=${AR_REPO}|_RUNTIME_SA=${SERVICE}-runtime$(owner_settings)"
else
    echo "  skipped: link the repository to Cloud Build (2nd gen, region $REGION), then give --connection and --repository"
fi

step "Cloud Scheduler job for reminders"
number=$(g projects describe "$PROJECT" --format='value(projectNumber)')
url="https://${SERVICE}-${number}.${REGION}.run.app"
exists scheduler jobs describe "${SERVICE}-reminders" --location="$REGION" ||
    change scheduler jobs create http "${SERVICE}-reminders" --location="$REGION" --schedule='*/15 * * * *' \
        --uri="${url}/tasks/reminders" --http-method=POST --attempt-deadline=120s \
        --oidc-service-account-email="$SCHEDULER_SA" --oidc-token-audience="${url}/tasks/reminders"

step "Budget alert"
if [ -n "${BUDGET_USD:-}" ]; then
    account=$(g billing projects describe "$PROJECT" --format='value(billingAccountName)' | sed 's|.*/||')
    [ -n "$account" ] || { echo "  $PROJECT has no billing account: link one, then run this again" >&2; exit 1; }
    budget=$(g billing budgets list --billing-account="$account" --filter="displayName=${SERVICE}-budget" \
        --format='value(name)')
    [ -n "$budget" ] || change billing budgets create --billing-account="$account" \
        --display-name="${SERVICE}-budget" --budget-amount="${BUDGET_USD}USD" --filter-projects="projects/${PROJECT}" \
        --threshold-rule=percent=0.5 --threshold-rule=percent=0.9 --threshold-rule=percent=1.0
else
    echo "  skipped: set BUDGET_USD (say 5) for an e-mail at 50, 90 and 100 % of a monthly budget"
fi

printf '\n%s\n' "$([ "$DRY_RUN" -eq 1 ] && echo "dry run: $CHANGES change(s) would be made" || echo "done: $CHANGES change(s) made")"
echo "service URL after the first deploy: $url"
