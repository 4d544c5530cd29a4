{{- define "shipyard.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 50 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "shipyard.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: shipyard
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "build") */}}
{{- define "shipyard.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "shipyard.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The deploy worker's service account; the other components use shipyard.fullname (no API access). */}}
{{- define "shipyard.deployServiceAccount" -}}
{{ include "shipyard.fullname" . }}-deploy
{{- end -}}

{{- define "shipyard.tlsDir" -}}/etc/shipyard/temporal-tls{{- end -}}

{{/* TEMPORAL_* (config/temporal.ts) and the runtime settings every component shares. */}}
{{- define "shipyard.temporalEnv" -}}
- name: TEMPORAL_ADDRESS
  value: {{ required "temporal.address is required (host:port of the Temporal frontend)" .Values.temporal.address | quote }}
- name: TEMPORAL_NAMESPACE
  value: {{ .Values.temporal.namespace | quote }}
{{- with .Values.temporal.uiUrl }}
- name: SHIPYARD_UI_URL
  value: {{ . | quote }}
{{- end }}
{{- with .Values.temporal.apiKeySecret.name }}
- name: TEMPORAL_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ required "temporal.apiKeySecret.key is required with temporal.apiKeySecret.name" $.Values.temporal.apiKeySecret.key }}
{{- end }}
{{- with .Values.temporal.tls }}
{{- if .enabled }}
- name: TEMPORAL_TLS
  value: "true"
{{- end }}
{{- with .serverName }}
- name: TEMPORAL_TLS_SERVER_NAME
  value: {{ . | quote }}
{{- end }}
{{- if .secretName }}
{{- if .certKey }}
- name: TEMPORAL_TLS_CERT
  value: {{ include "shipyard.tlsDir" $ }}/{{ .certKey }}
- name: TEMPORAL_TLS_KEY
  value: {{ include "shipyard.tlsDir" $ }}/{{ required "temporal.tls.keyKey is required with temporal.tls.certKey" .keyKey }}
{{- end }}
{{- with .caKey }}
- name: TEMPORAL_TLS_CA
  value: {{ include "shipyard.tlsDir" $ }}/{{ . }}
{{- end }}
{{- end }}
{{- end }}
- name: SHIPYARD_LOG_FORMAT
  value: {{ .Values.log.format | quote }}
- name: SHIPYARD_LOG_LEVEL
  value: {{ .Values.log.level | quote }}
{{- range $role, $queue := .Values.taskQueues }}
{{- with $queue }}
- name: SHIPYARD_{{ upper $role }}_QUEUE
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Volumes every pod has: writable /tmp and HOME (read-only root filesystem), the Temporal TLS Secret. */}}
{{/* (dict "root" $ "homeSizeLimit" "20Gi") */}}
{{- define "shipyard.volumes" -}}
- name: tmp
  emptyDir: {}
- name: home
  emptyDir: {{ if .homeSizeLimit }}{ sizeLimit: {{ .homeSizeLimit }} }{{ else }}{}{{ end }}
{{- with .root.Values.temporal.tls.secretName }}
- name: temporal-tls
  secret:
    secretName: {{ . }}
    defaultMode: 0440
{{- end }}
{{- end -}}

{{- define "shipyard.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: home
  mountPath: /home/node
{{- if .Values.temporal.tls.secretName }}
- name: temporal-tls
  mountPath: {{ include "shipyard.tlsDir" . }}
  readOnly: true
{{- end }}
{{- end -}}
