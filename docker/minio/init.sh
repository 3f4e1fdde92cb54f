#!/bin/sh
# The minio-init job (minio/mc image): creates the two buckets and one user per client, each
# allowed into its own bucket only. Safe to run again: every step is create-or-keep.
#   - the lake bucket, for the Airflow workers (MLGATE_S3_ACCESS_KEY);
#   - the MLflow artifacts bucket, for the MLflow server only (MLFLOW_S3_ACCESS_KEY); clients
#     reach artifacts through the server's proxy (mlflow-artifacts:/).
set -eu

for value in "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" "$MLGATE_S3_ACCESS_KEY" "$MLGATE_S3_SECRET_KEY" \
             "$MLFLOW_S3_ACCESS_KEY" "$MLFLOW_S3_SECRET_KEY"; do
    case "$value" in
        *CHANGE_ME*)
            echo "minio-init: a MinIO credential is still a CHANGE_ME placeholder; set it in docker/.env" >&2
            exit 1 ;;
    esac
done

mc alias set minio http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"

# grant USER SECRET BUCKET: the user can list, read, write and delete in BUCKET, nothing else.
grant() {
    policy="readwrite-$3"
    # (printf, a shell builtin: the mc image has few other tools)
    printf '%s\n' '{"Version": "2012-10-17", "Statement": [' \
        "  {\"Effect\": \"Allow\", \"Action\": [\"s3:GetBucketLocation\", \"s3:ListBucket\", \"s3:ListBucketMultipartUploads\"]," \
        "   \"Resource\": [\"arn:aws:s3:::$3\"]}," \
        "  {\"Effect\": \"Allow\", \"Action\": [\"s3:GetObject\", \"s3:PutObject\", \"s3:DeleteObject\", \"s3:AbortMultipartUpload\", \"s3:ListMultipartUploadParts\"]," \
        "   \"Resource\": [\"arn:aws:s3:::$3/*\"]}" \
        ']}' > "/tmp/$policy.json"
    mc mb --ignore-existing "minio/$3"
    mc admin policy create minio "$policy" "/tmp/$policy.json"
    mc admin user add minio "$1" "$2"
    # attach fails when the policy is already attached (a re-run): accept exactly that case.
    if ! mc admin policy attach minio "$policy" --user "$1"; then
        case "$(mc admin user info minio "$1")" in
            *"$policy"*) ;;
            *) echo "minio-init: could not attach $policy to the user for $3" >&2; exit 1 ;;
        esac
    fi
}

grant "$MLGATE_S3_ACCESS_KEY" "$MLGATE_S3_SECRET_KEY" "$MLGATE_LAKE_BUCKET"
grant "$MLFLOW_S3_ACCESS_KEY" "$MLFLOW_S3_SECRET_KEY" "$MLFLOW_ARTIFACTS_BUCKET"
echo "minio-init: buckets $MLGATE_LAKE_BUCKET and $MLFLOW_ARTIFACTS_BUCKET ready"
