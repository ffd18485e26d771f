#!/usr/bin/env bats
# tests/ofs-deploy-kubectl.bats: ofs-deploy's kubectl drivers (instances
# and traffic) against a recording fake kubectl
# (tests/fixtures/deploy-kubectl/kubectl), which logs every call and
# keeps a tiny cluster in files so get, scale and rollout status answer
# consistently. First a table of cases for the fake itself; then
# `ofs-deploy run` of the rolling, blueGreen and canary fixtures, v1 and
# then v2, with the exact kubectl commands each deploy ran (and the
# TrafficSplits it applied, through jq), the --context/--namespace
# flags, deployment names and images, an existing Deployment, --dry-run,
# and failures: kubectl missing or failing -> status 4 with its message.
#
# The command sequences assume the engine's moves: prepare the instance
# driver, then the traffic driver; start a batch's instances one after
# the other (each added to the deploy before its start, so the
# Deployment grows one replica per start), then wait for them ready;
# retire an old instance by routing it out, then stopping it. Consecutive
# identical commands are squeezed (calls), since readiness may be polled
# more than once.

load helpers

# Records must not depend on the caller's trace context.
unset TRACEPARENT TRACESTATE

FIX=$OFS_TOP/tests/fixtures/deploy-kubectl

setup() {
	export OFS_STATE_DIR=$BATS_TEST_TMPDIR/state
	export KUBECTL_LOG=$BATS_TEST_TMPDIR/kubectl.log
	export KUBECTL_STATE=$BATS_TEST_TMPDIR/cluster
	unset KUBECTL_FAIL KUBECTL_NO_SMI
	mkdir -p "$KUBECTL_STATE"
	: >"$KUBECTL_STATE/service.inventory" # the traffic Service exists
	: >"$KUBECTL_LOG"
	cd "$BATS_TEST_TMPDIR" || return 1
}

deploy() {
	"$OFS_BIN/ofs-deploy" "$@"
}

# spec FIXTURE VERSION [JQ]: write FIXTURE-VERSION.json, the fixture
# with the fake kubectl, that version and the jq filter JQ applied, and
# print its path.
spec() {
	local out=$BATS_TEST_TMPDIR/$1-$2.json
	jq --arg k "$FIX/kubectl" --arg v "$2" \
		".instances.kubectl = \$k | .version = \$v | ${3:-.}" "$FIX/$1.json" >"$out" ||
		return 1
	echo "$out"
}

# calls: the kubectl commands logged, "--namespace shop" (which every one
# carries: see its own test) left out, consecutive repeats squeezed.
calls() {
	grep '^kubectl ' "$KUBECTL_LOG" | sed 's/^kubectl --namespace shop /kubectl /' | uniq
}

# splits: the TrafficSplits applied, one compact JSON document a line.
splits() {
	grep '^{' "$KUBECTL_LOG" | jq -c .
}

# replicas NAME: the replicas of Deployment NAME in the fake cluster
# ("none" when it does not exist).
replicas() {
	cat "$KUBECTL_STATE/deployment.$1" 2>/dev/null || echo none
}

# deploy_ok SPEC: `ofs-deploy run SPEC` succeeds; the log is emptied first.
deploy_ok() {
	: >"$KUBECTL_LOG"
	run -0 --separate-stderr deploy run "$1"
}

# deploy_fails SPEC MESSAGE: `ofs-deploy run SPEC` exits 4 and says MESSAGE.
deploy_fails() {
	: >"$KUBECTL_LOG"
	run -4 --separate-stderr deploy run "$1"
	[[ $stderr == *"$2"* ]] || fail "stderr does not say '$2': $stderr"
}

# ---- the fake kubectl itself ---------------------------------------------------

# Each case: status, command (words), stdout or stderr expected, in order,
# against one cluster that starts with only the Service "inventory".
fake_cases() {
	cat <<'EOF'
0|version --client|Client Version: v1.30.0-fake
1|get deployment inventory-v1 -o name|Error from server (NotFound): deployments.apps "inventory-v1" not found
1|scale deployment/inventory-v1 --replicas=1|Error from server (NotFound): deployments.apps "inventory-v1" not found
0|create deployment inventory-v1 --image=registry.local/inventory:v1 --replicas=0|deployment.apps/inventory-v1 created
1|create deployment inventory-v1 --image=registry.local/inventory:v1 --replicas=0|error: failed to create deployment: deployments.apps "inventory-v1" already exists
0|--namespace shop get deployment inventory-v1 -o name|deployment.apps/inventory-v1
0|scale deployment/inventory-v1 --replicas=2 --context kind|deployment.apps/inventory-v1 scaled
0|rollout status deployment/inventory-v1 --timeout=1s|deployment "inventory-v1" successfully rolled out
0|set image deployment/inventory-v1 inventory=registry.local/inventory:v9|deployment.apps/inventory-v1 image updated
0|get service inventory -o name|service/inventory
0|patch service inventory --type merge -p {"spec":{"selector":{"app":"inventory-v1"}}}|service/inventory patched
0|expose deployment inventory-v1 --port=80|service/inventory-v1 exposed
1|expose deployment inventory-v1 --port=80|Error from server (AlreadyExists): services "inventory-v1" already exists
0|api-resources --api-group=split.smi-spec.io -o name|trafficsplits.split.smi-spec.io
0|delete deployment inventory-v1 --ignore-not-found|deployment.apps "inventory-v1" deleted
0|delete deployment inventory-v1 --ignore-not-found|
1|rollout status deployment/inventory-v1 --timeout=1s|Error from server (NotFound): deployments.apps "inventory-v1" not found
1|frobnicate|error: unknown command "frobnicate" for "kubectl" (fake)
EOF
}

@test "the fake kubectl answers its commands consistently and logs each one" {
	local status_want cmd want n=0
	while IFS='|' read -r status_want cmd want; do
		n=$((n + 1))
		# shellcheck disable=SC2086
		run --separate-stderr "$FIX/kubectl" $cmd
		[ "$status" -eq "$status_want" ] || fail "case $n '$cmd': status $status, want $status_want"
		[ "$output$stderr" = "$want" ] || fail "case $n '$cmd': got '$output$stderr', want '$want'"
	done < <(fake_cases)
	assert_equal "$(cat "$KUBECTL_STATE/deployment.inventory-v1" 2>/dev/null)" ""
	assert_equal "$(cat "$KUBECTL_STATE/service.inventory")" "app=inventory-v1"
	assert_equal "$(cat "$KUBECTL_LOG")" "$(fake_cases | cut -d'|' -f2 | sed 's/^/kubectl /')"
}

@test "the fake kubectl logs stdin of apply -f -, keeps the split and fails on KUBECTL_FAIL" {
	local split='{"apiVersion":"split.smi-spec.io/v1alpha2","kind":"TrafficSplit","metadata":{"name":"s"}}'
	run -0 "$FIX/kubectl" apply -f - <<<"$split"
	assert_output "trafficsplit.split.smi-spec.io/s configured"
	assert_equal "$(cat "$KUBECTL_STATE/split.s")" "$split"
	KUBECTL_FAIL='^kubectl version' run -1 --separate-stderr "$FIX/kubectl" version --client
	assert_equal "$stderr" "Error from server (InternalError): injected failure"
	KUBECTL_NO_SMI=1 run -0 "$FIX/kubectl" api-resources --api-group=split.smi-spec.io -o name
	assert_output ""
	assert_equal "$(cat "$KUBECTL_LOG")" "kubectl apply -f -
$split
kubectl version --client
kubectl api-resources --api-group=split.smi-spec.io -o name"
}

# ---- rolling -------------------------------------------------------------------

@test "rolling, first deploy: the Deployment is created empty, then grows a replica per instance" {
	deploy_ok "$(spec rolling v1)"
	assert_equal "$(calls)" "kubectl version --client
kubectl get deployment inventory-v1 -o name
kubectl create deployment inventory-v1 --image=registry.local/inventory:v1 --replicas=0
kubectl scale deployment/inventory-v1 --replicas=1
kubectl scale deployment/inventory-v1 --replicas=2
kubectl scale deployment/inventory-v1 --replicas=3
kubectl rollout status deployment/inventory-v1 --timeout=1s"
	assert_equal "$(replicas inventory-v1)" 3
	assert_equal "$(cat "$KUBECTL_STATE/deployment.inventory-v1.image")" registry.local/inventory:v1
}

@test "rolling, v1 to v2: one up, one down (maxSurge 1, maxUnavailable 0 of 3); v1 deleted at 0" {
	deploy_ok "$(spec rolling v1)"
	deploy_ok "$(spec rolling v2)"
	assert_equal "$(calls)" "kubectl version --client
kubectl get deployment inventory-v2 -o name
kubectl create deployment inventory-v2 --image=registry.local/inventory:v2 --replicas=0
kubectl scale deployment/inventory-v2 --replicas=1
kubectl rollout status deployment/inventory-v2 --timeout=1s
kubectl scale deployment/inventory-v1 --replicas=2
kubectl scale deployment/inventory-v2 --replicas=2
kubectl rollout status deployment/inventory-v2 --timeout=1s
kubectl scale deployment/inventory-v1 --replicas=1
kubectl scale deployment/inventory-v2 --replicas=3
kubectl rollout status deployment/inventory-v2 --timeout=1s
kubectl scale deployment/inventory-v1 --replicas=0
kubectl delete deployment inventory-v1 --ignore-not-found"
	assert_equal "$(replicas inventory-v1)" none
	assert_equal "$(replicas inventory-v2)" 3
	# Rolling with kubectl traffic routes nothing: Services select the pods.
	assert_equal "$(cat "$KUBECTL_STATE/service.inventory")" ""
}

@test "every kubectl command carries --context and --namespace from the spec" {
	deploy_ok "$(spec rolling v1 '.instances.context = "kind-shop"')"
	run -0 grep -c '^kubectl ' <(uniq "$KUBECTL_LOG")
	assert_equal "$output" 7
	run -1 grep -v '^kubectl --context kind-shop --namespace shop ' "$KUBECTL_LOG"
	# Without them, none is given (a service of its own: the old
	# revision's instances are stopped with the old spec's flags).
	export OFS_STATE_DIR=$BATS_TEST_TMPDIR/state2
	deploy_ok "$(spec rolling v1 'del(.instances.namespace)')"
	run -1 grep -e '--namespace' -e '--context' "$KUBECTL_LOG"
}

@test "the deployment template names the Deployments; an existing one gets the image set" {
	printf '0\n' >"$KUBECTL_STATE/deployment.inventory-v1-r1"
	deploy_ok "$(spec rolling v1 '.instances.deployment = "{service}-{version}-r{revision}" | .instances.container = "app"')"
	assert_equal "$(calls)" "kubectl version --client
kubectl get deployment inventory-v1-r1 -o name
kubectl set image deployment/inventory-v1-r1 app=registry.local/inventory:v1
kubectl scale deployment/inventory-v1-r1 --replicas=1
kubectl scale deployment/inventory-v1-r1 --replicas=2
kubectl scale deployment/inventory-v1-r1 --replicas=3
kubectl rollout status deployment/inventory-v1-r1 --timeout=1s"
	assert_equal "$(replicas inventory-v1-r1)" 3
}

@test "--dry-run runs no kubectl command that changes anything" {
	run -0 --separate-stderr deploy run --dry-run "$(spec rolling v1)"
	run -1 grep -v -e '^kubectl --namespace shop version ' -e '^kubectl --namespace shop get ' \
		"$KUBECTL_LOG"
	assert_equal "$(replicas inventory-v1)" none
}

# ---- blue/green ----------------------------------------------------------------

@test "blueGreen: the Service's selector moves to the new version once it is ready" {
	deploy_ok "$(spec bluegreen v1)"
	assert_equal "$(calls)" 'kubectl version --client
kubectl get deployment inventory-v1 -o name
kubectl get service inventory -o name
kubectl create deployment inventory-v1 --image=registry.local/inventory:v1 --replicas=0
kubectl scale deployment/inventory-v1 --replicas=1
kubectl scale deployment/inventory-v1 --replicas=2
kubectl scale deployment/inventory-v1 --replicas=3
kubectl rollout status deployment/inventory-v1 --timeout=1s
kubectl patch service inventory --type merge -p {"spec":{"selector":{"app":"inventory-v1"}}}'
	assert_equal "$(cat "$KUBECTL_STATE/service.inventory")" app=inventory-v1

	deploy_ok "$(spec bluegreen v2)"
	assert_equal "$(calls)" 'kubectl version --client
kubectl get deployment inventory-v2 -o name
kubectl get service inventory -o name
kubectl create deployment inventory-v2 --image=registry.local/inventory:v2 --replicas=0
kubectl scale deployment/inventory-v2 --replicas=1
kubectl scale deployment/inventory-v2 --replicas=2
kubectl scale deployment/inventory-v2 --replicas=3
kubectl rollout status deployment/inventory-v2 --timeout=1s
kubectl patch service inventory --type merge -p {"spec":{"selector":{"app":"inventory-v2"}}}
kubectl scale deployment/inventory-v1 --replicas=2
kubectl scale deployment/inventory-v1 --replicas=1
kubectl scale deployment/inventory-v1 --replicas=0
kubectl delete deployment inventory-v1 --ignore-not-found'
	# The patch is one argument of valid JSON, and selects the new version.
	run -0 sed -n 's/^kubectl .* patch service inventory --type merge -p //p' "$KUBECTL_LOG"
	assert_jq "$output" '.spec.selector | tojson' '{"app":"inventory-v2"}'
	assert_equal "$(cat "$KUBECTL_STATE/service.inventory")" app=inventory-v2
	assert_equal "$(replicas inventory-v1)" none
	assert_equal "$(replicas inventory-v2)" 3
}

@test "blueGreen: a missing traffic Service stops the deploy before anything changes" {
	rm "$KUBECTL_STATE/service.inventory"
	deploy_fails "$(spec bluegreen v1)" \
		'kubectl get service inventory: exited with status 1: Error from server (NotFound): services "inventory" not found'
	run -1 grep -e ' create ' -e ' scale ' "$KUBECTL_LOG"
}

# ---- canary --------------------------------------------------------------------

@test "canary: a TrafficSplit over one Service per version, 80/20 and then all to v2" {
	deploy_ok "$(spec rolling v1)"
	deploy_ok "$(spec canary v2)"
	assert_equal "$(calls)" "kubectl version --client
kubectl get deployment inventory-v2 -o name
kubectl get service inventory -o name
kubectl api-resources --api-group=split.smi-spec.io -o name
kubectl create deployment inventory-v2 --image=registry.local/inventory:v2 --replicas=0
kubectl scale deployment/inventory-v2 --replicas=1
kubectl rollout status deployment/inventory-v2 --timeout=1s
kubectl expose deployment inventory-v1 --port=80
kubectl expose deployment inventory-v2 --port=80
kubectl apply -f -
kubectl scale deployment/inventory-v2 --replicas=2
kubectl scale deployment/inventory-v2 --replicas=3
kubectl rollout status deployment/inventory-v2 --timeout=1s
kubectl apply -f -
kubectl scale deployment/inventory-v1 --replicas=2
kubectl scale deployment/inventory-v1 --replicas=1
kubectl scale deployment/inventory-v1 --replicas=0
kubectl delete deployment inventory-v1 --ignore-not-found"
	# The first split: the setWeight 20 step, over the Services exposed.
	run -0 splits
	assert_jq "${lines[0]}" 'tojson' \
		'{"apiVersion":"split.smi-spec.io/v1alpha2","kind":"TrafficSplit","metadata":{"name":"inventory-split"},"spec":{"service":"inventory","backends":[{"service":"inventory-v1","weight":80},{"service":"inventory-v2","weight":20}]}}'
	# The last: everything on v2 (v1, draining, may still be listed at 0).
	assert_jq "${lines[-1]}" '[.spec.backends[] | select(.weight > 0)] | tojson' \
		'[{"service":"inventory-v2","weight":100}]'
	assert_jq "${lines[-1]}" '[.spec.backends[].weight] | add' 100
	assert_equal "$(cat "$KUBECTL_STATE/service.inventory-v1")" app=inventory-v1
	assert_equal "$(cat "$KUBECTL_STATE/service.inventory-v2")" app=inventory-v2
	assert_equal "$(replicas inventory-v2)" 3
	assert_equal "$(replicas inventory-v1)" none
}

@test "canary: a cluster without SMI's TrafficSplit stops the deploy before anything changes" {
	deploy_ok "$(spec rolling v1)"
	export KUBECTL_NO_SMI=1
	deploy_fails "$(spec canary v2)" \
		"kubernetes does not serve 'trafficsplits.split.smi-spec.io': is an SMI service mesh installed?"
	run -1 grep -e ' create ' -e ' scale ' -e ' apply ' "$KUBECTL_LOG"
	assert_equal "$(replicas inventory-v1)" 3
}

# ---- failures ------------------------------------------------------------------

@test "kubectl missing: status 4, 'cannot run kubectl', nothing run" {
	deploy_fails "$(spec rolling v1 '.instances.kubectl = "/nonexistent/kubectl"')" \
		"cannot run kubectl: '/nonexistent/kubectl': No such file or directory"
	assert_equal "$(cat "$KUBECTL_LOG")" ""
}

@test "kubectl version failing: status 4 with kubectl's message, nothing else run" {
	export KUBECTL_FAIL='^kubectl .*version'
	deploy_fails "$(spec rolling v1)" \
		"cannot run kubectl: version --client: exited with status 1: Error from server (InternalError): injected failure"
	assert_equal "$(calls)" "kubectl version --client"
}

@test "kubectl scale failing: status 4 naming the command and kubectl's last line" {
	export KUBECTL_FAIL='scale deployment/inventory-v1'
	deploy_fails "$(spec rolling v1)" \
		"kubectl scale deployment/inventory-v1: exited with status 1: Error from server (InternalError): injected failure"
	run -0 grep -c ' create deployment inventory-v1 ' "$KUBECTL_LOG"
	assert_equal "$output" 1
}
