#!/usr/bin/env bash
# Prepare a Google Cloud project for the bot, from nothing. Safe to run again: every resource is
# looked up first and created only if missing, so a second run changes nothing.
#
#   deploy/bootstrap.sh --project my-project --github-owner me --github-repo mentor-bot [--region us-central1] [--dry-run]
#
# Secrets are read from the environment (FB_PAGE_ACCESS_TOKEN, FB_APP_SECRET, TELEGRAM_BOT_TOKEN, ...)
# or asked for without echo; FB_VERIFY_TOKEN, TELEGRAM_SECRET_TOKEN and TASKS_TOKEN are generated if
# not given. A channel whose secrets you leave empty stays off.
set -euo pipefail

PROJECT="${GOOGLE_CLOUD_PROJECT:-}"
REGION="us-central1"
SERVICE="mentor-bot"
AR_REPO="chatbot"
GITHUB_OWNER=""
GITHUB_REPO=""
DRY_RUN=0

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --project) PROJECT="$2"; shift 2 ;;
        --region) REGION="$2"; shift 2 ;;
        --service) SERVICE="$2"; shift 2 ;;
        --github-owner) GITHUB_OWNER="$2"; shift 2 ;;
        --github-repo) GITHUB_REPO="$2"; shift 2 ;;
        --dry-run) DRY_RUN=1; shift ;;
        -h|--help) usage 0 ;;
        *) echo "unknown option: $1" >&2; usage 2 ;;
    esac
done
[ -n "$PROJECT" ] || { echo "give --project (or set GOOGLE_CLOUD_PROJECT)" >&2; exit 2; }

RUNTIME_SA="${SERVICE}-runtime@${PROJECT}.iam.gserviceaccount.com"
BUILD_SA="${SERVICE}-deployer@${PROJECT}.iam.gserviceaccount.com"
SCHEDULER_SA="${SERVICE}-scheduler@${PROJECT}.iam.gserviceaccount.com"
SECRETS="fb-page-access-token fb-app-secret fb-verify-token telegram-bot-token telegram-secret-token tasks-token"
CHANGES=0

g() { gcloud --project="$PROJECT" --quiet "$@"; }

# Run a command that changes something, or only print it with --dry-run.
change() {
    CHANGES=$((CHANGES + 1))
    if [ "$DRY_RUN" -eq 1 ]; then
        echo "would run: gcloud $*"
    else
        echo "+ gcloud $*"
        g "$@" >/dev/null
    fi
}

exists() { g "$@" >/dev/null 2>&1; }

step() { printf '\n== %s\n' "$1"; }

step "APIs"
enabled=$(g services list --enabled --format='value(config.name)' 2>/dev/null || true)
for api in run cloudbuild artifactregistry firestore secretmanager cloudscheduler iam; do
    case " $(echo "$enabled" | tr '\n' ' ') " in
        *" ${api}.googleapis.com "*) ;;
        *) change services enable "${api}.googleapis.com" ;;
    esac
done

step "Artifact Registry repository ${AR_REPO} (${REGION})"
exists artifacts repositories describe "$AR_REPO" --location="$REGION" ||
    change artifacts repositories create "$AR_REPO" --location="$REGION" --repository-format=docker \
        --description="Images of the ${SERVICE} chatbot"

step "Firestore (native mode) and its TTL policies"
exists firestore databases describe --database='(default)' ||
    change firestore databases create --database='(default)' --location="$REGION" --type=firestore-native
for group in conversations suggestions; do
    state=$(g firestore fields ttls list --collection-group="$group" --format='value(ttlConfig.state)' 2>/dev/null || true)
    case "$state" in
        *ACTIVE*|*CREATING*) ;;
        *) change firestore fields ttls update expire_at --collection-group="$group" --enable-ttl --async ;;
    esac
done

step "Service accounts"
for sa in "$RUNTIME_SA:runs the bot" "$BUILD_SA:builds and deploys the bot" "$SCHEDULER_SA:calls the reminders task"; do
    email="${sa%%:*}"
    exists iam service-accounts describe "$email" ||
        change iam service-accounts create "${email%%@*}" --display-name="${SERVICE}: ${sa#*:}"
done

step "Secrets"
secret_value() {  # $1: secret name -> value from the environment, generated, or asked for
    local var value
    var=$(echo "$1" | tr 'a-z-' 'A-Z_')
    value="${!var:-}"
    if [ -z "$value" ]; then
        case "$1" in
            fb-verify-token|telegram-secret-token|tasks-token) value=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n') ;;
            *) if [ -t 0 ] && [ "$DRY_RUN" -eq 0 ]; then read -rsp "  $var (empty to leave this channel off): " value; echo; fi ;;
        esac
    fi
    printf '%s' "$value"
}
for secret in $SECRETS; do
    if exists secrets describe "$secret"; then continue; fi
    value=$(secret_value "$secret")
    if [ -z "$value" ]; then echo "  $secret: no value, skipped"; continue; fi
    if [ "$DRY_RUN" -eq 1 ]; then
        CHANGES=$((CHANGES + 1)); echo "would run: gcloud secrets create $secret --replication-policy=automatic --data-file=-"
    else
        CHANGES=$((CHANGES + 1)); echo "+ gcloud secrets create $secret (value from stdin, not shown)"
        printf '%s' "$value" | g secrets create "$secret" --replication-policy=automatic --data-file=- >/dev/null
    fi
done

step "Roles (least privilege)"
bind_project() {  # member role
    local members
    members=$(g projects get-iam-policy "$PROJECT" --flatten='bindings[].members' \
        --filter="bindings.role=$2" --format='value(bindings.members)' 2>/dev/null || true)
    echo "$members" | grep -qx "$1" || change projects add-iam-policy-binding "$PROJECT" --member="$1" --role="$2" --condition=None
}
bind_resource() {  # "command group" name member role [extra flags...]
    local -a group
    local name="$2" member="$3" role="$4" members
    read -ra group <<<"$1"
    shift 4
    members=$(g "${group[@]}" get-iam-policy "$name" "$@" --flatten='bindings[].members' \
        --filter="bindings.role=$role" --format='value(bindings.members)' 2>/dev/null || true)
    echo "$members" | grep -qx "$member" ||
        change "${group[@]}" add-iam-policy-binding "$name" "$@" --member="$member" --role="$role"
}
# The bot: read and write Firestore, read its own secrets. Nothing else.
bind_project "serviceAccount:$RUNTIME_SA" roles/datastore.user
for secret in $SECRETS; do
    if exists secrets describe "$secret" || [ "$DRY_RUN" -eq 1 ]; then
        bind_resource secrets "$secret" "serviceAccount:$RUNTIME_SA" roles/secretmanager.secretAccessor
    fi
done
# The pipeline: deploy Cloud Run as the runtime account, push images, write build logs, and read
# the two secrets its smoke test and webhook step use.
bind_project "serviceAccount:$BUILD_SA" roles/run.admin
bind_project "serviceAccount:$BUILD_SA" roles/logging.logWriter
bind_resource "iam service-accounts" "$RUNTIME_SA" "serviceAccount:$BUILD_SA" roles/iam.serviceAccountUser
bind_resource "artifacts repositories" "$AR_REPO" "serviceAccount:$BUILD_SA" roles/artifactregistry.writer --location="$REGION"
for secret in $SECRETS; do
    if exists secrets describe "$secret" || [ "$DRY_RUN" -eq 1 ]; then
        bind_resource secrets "$secret" "serviceAccount:$BUILD_SA" roles/secretmanager.secretAccessor
    fi
done

step "Cloud Build trigger on push to main"
if [ -n "$GITHUB_OWNER" ] && [ -n "$GITHUB_REPO" ]; then
    exists builds triggers describe "${SERVICE}-deploy" --region="$REGION" ||
        change builds triggers create github --name="${SERVICE}-deploy" --region="$REGION" \
            --repo-owner="$GITHUB_OWNER" --repo-name="$GITHUB_REPO" --branch-pattern='^main$' \
            --build-config=cloudbuild.yaml --service-account="projects/${PROJECT}/serviceAccounts/${BUILD_SA}" \
            --substitutions="_REGION=${REGION},_SERVICE=${SERVICE},_AR_REPO=${AR_REPO},_RUNTIME_SA=${SERVICE}-runtime"
else
    echo "  skipped: give --github-owner and --github-repo once the repository is connected to Cloud Build"
fi

step "Cloud Scheduler job for reminders"
number=$(g projects describe "$PROJECT" --format='value(projectNumber)')
url="https://${SERVICE}-${number}.${REGION}.run.app"
exists scheduler jobs describe "${SERVICE}-reminders" --location="$REGION" ||
    change scheduler jobs create http "${SERVICE}-reminders" --location="$REGION" --schedule='*/15 * * * *' \
        --uri="${url}/tasks/reminders" --http-method=POST --attempt-deadline=120s \
        --oidc-service-account-email="$SCHEDULER_SA" --oidc-token-audience="${url}/tasks/reminders"

printf '\n%s\n' "$([ "$DRY_RUN" -eq 1 ] && echo "dry run: $CHANGES change(s) would be made" || echo "done: $CHANGES change(s) made")"
echo "service URL after the first deploy: $url"
