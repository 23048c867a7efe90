{{/* Chart name. */}}
{{- define "dvc.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-qualified name. */}}
{{- define "dvc.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Conventional labels. */}}
{{- define "dvc.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "dvc.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: dvc
{{- end -}}

{{/* Selector labels of one component (web, worker, migrate). */}}
{{- define "dvc.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dvc.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "dvc.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "dvc.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "dvc.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "dvc.secretName" -}}
{{- default (printf "%s-secrets" (include "dvc.fullname" .)) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* Configuration from the ConfigMap, secrets from the Secret. */}}
{{- define "dvc.envFrom" -}}
- configMapRef:
    name: {{ include "dvc.fullname" . }}-config
- secretRef:
    name: {{ include "dvc.secretName" . }}
{{- end -}}
