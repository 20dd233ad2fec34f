"""Build the proxy a plan asks for (reverse or forward), and the child's environment to match.

    proxy = build_proxy(plan, options, environment, handoff, writer, log)   # not started yet
    env = child_env(plan, proxy_url, environment)                           # what the client runs with

Forward mode loads (or creates) the local CA in the claude-tap home, decrypts the client adapter's
model hosts plus the target's host, and gives the child HTTPS_PROXY and the trust variables
(launch.forward_proxy_env). The upstream flags (--tap-upstream-ca, --tap-upstream-proxy) apply to
both modes; --tap-resolve and the watchdog to forward mode.

This module wires the proxy to the options; it moves no bytes and knows no API format.
"""

from __future__ import annotations

import functools
import logging
import ssl
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from claude_tap.clients.base import ClientConfig, error_body
from claude_tap.launch import forward_proxy_env
from claude_tap.options import PROG, TapOptions
from claude_tap.proxy.relay import ExchangeSink
from claude_tap.proxy.reverse import ProxyConfig, ReverseProxy

# Forward mode's modules (proxy.forward, proxy.ca and cryptography with them) are imported where
# forward mode is asked for: in reverse mode they would only cost the proxy 8 MB of memory.
if TYPE_CHECKING:
    from claude_tap.cli import Environment
    from claude_tap.proxy.forward import ForwardProxy, RecordSink
    from claude_tap.run import Plan

_PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def build_proxy(
    plan: Plan,
    options: TapOptions,
    environment: Environment,
    sink: ExchangeSink,
    records: RecordSink | None,
    log: logging.Logger,
) -> ReverseProxy | ForwardProxy:
    env = upstream_env(environment.environ, options.upstream_proxy)
    upstream_ssl = upstream_context(options)
    errors = functools.partial(error_body, plan.client.error_style)
    strip = plan.client.reverse_strip_path_prefix(plan.target)
    if plan.mode == "reverse":
        return ReverseProxy(
            ProxyConfig(
                target=plan.target,
                strip_path_prefix=strip,
                host=options.host,
                port=options.port,
                error_body=errors,
                connect_timeout_s=options.connect_timeout,
                read_timeout_s=options.read_timeout,
                env=env,
                upstream_ssl=upstream_ssl,
            ),
            sink,
            log,
        )

    from claude_tap.proxy.ca import LocalCa, ca_dir
    from claude_tap.proxy.forward import ForwardConfig, ForwardProxy

    def warn(message: str) -> None:
        environment.say(f"{PROG}: warning: {message}")
        log.warning("%s", message)

    ca = LocalCa.load_or_create(ca_dir(environment.environ), warn)
    watch = options.watchdog if options.watchdog > 0 and not options.no_launch else None
    return ForwardProxy(
        ForwardConfig(
            target=plan.target,
            strip_path_prefix=strip,
            intercept_hosts=intercept_hosts(plan.client, plan.target),
            intercept_all=options.intercept_all,
            resolve=options.resolve,
            host=options.host,
            port=options.port,
            error_body=errors,
            connect_timeout_s=options.connect_timeout,
            read_timeout_s=options.read_timeout,
            env=env,
            upstream_ssl=upstream_ssl,
            idle_warning_s=watch,
            who=plan.client.display_name,
        ),
        sink,
        records,
        ca,
        log,
        warn,
    )


def check_setup(mode: str, options: TapOptions, environment: Environment) -> None:
    """Fail before anything starts (no proxy, no session directory) when --tap-upstream-ca cannot be
    loaded or, in forward mode, the local CA cannot be stored; create the CA on first use."""
    from claude_tap.cli import CommandError
    from claude_tap.launch import ExitCode

    try:
        upstream_context(options)
    except (OSError, ssl.SSLError) as error:
        raise CommandError(
            f"--tap-upstream-ca {options.upstream_ca}: not a PEM file of CA certificates ({error})",
            ExitCode.USAGE,
        ) from error
    if mode != "forward":
        return
    from claude_tap.proxy.ca import LocalCa, ca_dir

    directory = ca_dir(environment.environ)
    try:
        LocalCa.load_or_create(directory, lambda message: environment.say(f"{PROG}: warning: {message}"))
    except OSError as error:
        raise CommandError(
            f"cannot store the local CA in {directory}: {error.strerror or error}; "
            "set CLAUDE_TAP_HOME to a writable directory",
            ExitCode.FAILURE,
        ) from error


def intercept_hosts(client: ClientConfig, target: str) -> frozenset[str]:
    """The hosts forward mode decrypts: the client's model hosts and the target's host."""
    hosts = {host.lower() for host in client.intercept_hosts}
    target_host = urlsplit(target).hostname
    if target_host:
        hosts.add(target_host.lower())
    return frozenset(hosts)


def upstream_env(environ: Mapping[str, str], upstream_proxy: str | None) -> dict[str, str]:
    """The environment the tap reads its own upstream proxy from: its own, or --tap-upstream-proxy."""
    env = dict(environ)
    if upstream_proxy is None:
        return env
    for name in _PROXY_VARIABLES:
        env.pop(name, None)
    if upstream_proxy != "direct":
        env.update(dict.fromkeys(("HTTPS_PROXY", "HTTP_PROXY"), upstream_proxy))
    return env


def upstream_context(options: TapOptions) -> ssl.SSLContext | None:
    """The system's trust store plus --tap-upstream-ca; None (aiohttp's default) without it."""
    if options.upstream_ca is None:
        return None
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=str(options.upstream_ca))
    return context


def child_env(plan: Plan, proxy_url: str, environment: Environment) -> dict[str, str]:
    """The client's environment: its adapter's part, plus in forward mode the proxy and trust variables."""
    env = plan.client.launch_env(environment.environ, proxy_url, plan.mode)
    if plan.mode != "forward":
        return env
    from claude_tap.proxy.ca import LocalCa, ca_dir, trust_files

    ca = LocalCa.load_or_create(ca_dir(environment.environ), lambda message: None)  # started: it is sound
    files = trust_files(ca, environment.environ)
    return forward_proxy_env(env, proxy_url, files.bundle, files.ca_cert)
