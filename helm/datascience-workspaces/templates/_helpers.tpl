{{/* Names: every object is <release>-<component> (release names stay short enough for DNS). */}}
{{- define "dsw.fullname" -}}{{ .Release.Name | trunc 40 | trimSuffix "-" }}{{- end -}}

{{- define "dsw.name" -}}{{ include "dsw.fullname" .root }}-{{ .component }}{{- end -}}

{{- define "dsw.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "dsw.labels" -}}
{{ include "dsw.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{/* repository@digest when a digest is given (what production should use), else repository:tag. */}}
{{- define "dsw.image" -}}
{{- if .digest -}}{{ .repository }}@{{ .digest }}{{- else -}}{{ .repository }}:{{ .tag }}{{- end -}}
{{- end -}}

{{- define "dsw.publicUrl" -}}
{{- if .Values.publicUrl -}}{{ trimSuffix "/" .Values.publicUrl }}
{{- else if and .Values.ingress.enabled .Values.ingress.host -}}{{ ternary "https" "http" .Values.ingress.tls.enabled }}://{{ .Values.ingress.host }}
{{- else -}}http://localhost{{- end -}}
{{- end -}}

{{- define "dsw.workspacesNamespace" -}}{{ .Values.workspaces.namespace | default .Release.Namespace }}{{- end -}}

{{- define "dsw.secretsName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "dsw.fullname" .)) -}}
{{- end -}}

{{- define "dsw.portalUrl" -}}http://{{ include "dsw.name" (dict "root" . "component" "portal") }}:8000{{- end -}}
{{- define "dsw.hubUrl" -}}http://{{ include "dsw.name" (dict "root" . "component" "hub") }}:8081{{- end -}}
{{- define "dsw.mlflowUrl" -}}http://{{ include "dsw.name" (dict "root" . "component" "mlflow") }}:5000{{- end -}}
{{- define "dsw.mlflowBucket" -}}{{ .Values.mlflow.bucket | default (printf "%s-mlflow" .Values.objectStorage.bucketPrefix) }}{{- end -}}
{{- define "dsw.proxyApiUrl" -}}http://{{ include "dsw.name" (dict "root" . "component" "proxy-api") }}:8001{{- end -}}

{{- define "dsw.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ .key }}
      {{- if .optional }}
      optional: true
      {{- end }}
{{- end -}}

{{/* What the portal, workers, beat and the migration job share: settings from the environment. */}}
{{- define "dsw.portalEnv" -}}
- name: PLATFORM_MODE
  value: production
- name: PLATFORM_SITE_NAME
  value: {{ .Values.siteName | quote }}
- name: PLATFORM_DATA_DIR
  value: /var/lib/dsw
- name: PLATFORM_PUBLIC_URL
  value: {{ include "dsw.publicUrl" . | quote }}
- name: PLATFORM_HUB_API_URL
  value: {{ include "dsw.hubUrl" . }}/hub/api
- name: PLATFORM_SPAWN_TIMEOUT
  value: {{ .Values.hub.spawnTimeout | quote }}
- name: DJANGO_ALLOWED_HOSTS
  value: {{ list (urlParse (include "dsw.publicUrl" .)).hostname (include "dsw.name" (dict "root" . "component" "portal")) | join "," | quote }}
- name: DJANGO_CSRF_TRUSTED_ORIGINS
  value: {{ include "dsw.publicUrl" . | quote }}
- name: DJANGO_SECURE_SSL_REDIRECT
  value: "false"
- name: PLATFORM_TRUSTED_PROXIES
  value: {{ join "," .Values.portal.trustedProxies | quote }}
{{ include "dsw.secretEnv" (dict "name" "DATABASE_URL" "secret" .Values.database.existingSecret "key" .Values.database.secretKey) }}
{{ include "dsw.secretEnv" (dict "name" "REDIS_URL" "secret" .Values.redis.existingSecret "key" .Values.redis.secretKey) }}
{{ include "dsw.secretEnv" (dict "name" "DJANGO_SECRET_KEY" "secret" (include "dsw.secretsName" .) "key" "django-secret-key") }}
{{ include "dsw.secretEnv" (dict "name" "PLATFORM_HUB_API_TOKEN" "secret" (include "dsw.secretsName" .) "key" "hub-api-token") }}
{{ include "dsw.secretEnv" (dict "name" "PLATFORM_HUB_OAUTH_CLIENT_SECRET" "secret" (include "dsw.secretsName" .) "key" "hub-oauth-client-secret") }}
{{- with .Values.objectStorage }}{{ if .endpoint }}
{{- if not .existingSecret }}{{ fail "objectStorage.existingSecret: name the Secret holding the S3 admin credentials (objectStorage.endpoint is set)" }}{{ end }}
- name: PLATFORM_S3_ENDPOINT_URL
  value: {{ .endpoint | quote }}
- name: PLATFORM_S3_PUBLIC_URL
  value: {{ .publicEndpoint | default .endpoint | quote }}
- name: PLATFORM_S3_IAM_ENDPOINT_URL
  value: {{ .iamEndpoint | default .endpoint | quote }}
- name: PLATFORM_S3_REGION
  value: {{ .region | quote }}
- name: PLATFORM_BUCKETS_PREFIX
  value: {{ .bucketPrefix | quote }}
{{ include "dsw.secretEnv" (dict "name" "PLATFORM_S3_ADMIN_ACCESS_KEY" "secret" .existingSecret "key" .accessKeyIdKey) }}
{{ include "dsw.secretEnv" (dict "name" "PLATFORM_S3_ADMIN_SECRET_KEY" "secret" .existingSecret "key" .secretAccessKeyKey) }}
{{ include "dsw.secretEnv" (dict "name" "PLATFORM_BUCKETS_ENCRYPTION_KEYS" "secret" (include "dsw.secretsName" $) "key" "buckets-encryption-key") }}
{{- end }}{{ end }}
{{ include "dsw.secretEnv" (dict "name" "PLATFORM_METRICS_TOKEN" "secret" (include "dsw.secretsName" .) "key" "metrics-token" "optional" true) }}
{{- if .Values.mlflow.enabled }}
- name: PLATFORM_TRACKING_URL
  value: {{ include "dsw.mlflowUrl" . }}
- name: PLATFORM_TRACKING_BUCKET
  value: {{ include "dsw.mlflowBucket" . | quote }}
{{ include "dsw.secretEnv" (dict "name" "PLATFORM_TRACKING_SECRET" "secret" (include "dsw.secretsName" .) "key" "tracking-secret") }}
{{- end }}
- name: PLATFORM_LOG_FORMAT
  value: {{ .Values.logFormat | quote }}
{{- range $name, $value := .Values.extraEnv }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{- define "dsw.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}

{{- define "dsw.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}

{{/* A NetworkPolicy peer: pods of one of our components, in the release's namespace. */}}
{{- define "dsw.peer" -}}
- namespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: {{ .root.Release.Namespace }}
  podSelector:
    matchLabels:
      {{- include "dsw.selectorLabels" . | nindent 6 }}
{{- end -}}

{{/* Workspace pods (KubeSpawner's component label plus the release label the hub adds to them). */}}
{{- define "dsw.workspaceSelector" -}}
component: singleuser-server
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "dsw.workspacePeer" -}}
- namespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: {{ include "dsw.workspacesNamespace" . }}
  podSelector:
    matchLabels:
      {{- include "dsw.workspaceSelector" . | nindent 6 }}
{{- end -}}

{{- /* Who may scrape metrics (NetworkPolicy peers). */}}
{{- define "dsw.scrapePeers" -}}
{{- range .Values.metrics.scrapeFrom }}
- {{ toJson . }}
{{- end }}
{{- end -}}
