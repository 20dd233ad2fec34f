"""docs/support-matrix.md and its Chinese twin, generated from the client registry.

    python -m claude_tap.clients.matrix          # rewrite both files from CLIENT_CONFIGS
    python -m claude_tap.clients.matrix --check  # exit 1 when a file differs from what the code says

Every fact in the tables (executable, install command, default mode, variables, default target, strip
rule, hosts forward mode decrypts) is read from the `ClientConfig` values, so the docs cannot drift
from the code: tests/unit/test_support_matrix_docs.py fails when they disagree. Only the prose (the
notes under each client, in both languages) is written here by hand.

This module knows nothing about processes, sockets or the proxy; `main` is its only writer.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from claude_tap.clients import CLIENT_CONFIGS
from claude_tap.clients.base import ClientConfig

Language = Literal["en", "zh"]

DOCS = Path(__file__).resolve().parents[2] / "docs"
FILES: dict[Language, str] = {"en": "support-matrix.md", "zh": "support-matrix.zh.md"}

_TEXT: dict[Language, dict[str, str]] = {
    "en": {
        "title": "# Support matrix",
        "twin": "[简体中文](support-matrix.zh.md)",
        "generated": (
            "Generated from the client registry (`claude_tap/clients/`) by "
            "`python -m claude_tap.clients.matrix`; a test fails when this page and the code disagree."
        ),
        "intro": (
            "Run any of them with `claude-tap --tap-client NAME -- [its arguments]`. "
            "`--tap-proxy-mode {reverse,forward}` overrides the default mode; `--tap-target URL` the "
            "upstream."
        ),
        "summary": "## Clients at a glance",
        "head": "| Client | `--tap-client` | Command | Default mode | Base-URL variables | Upstream |",
        "details": "## Each client",
        "install": "Install",
        "mode": "Default proxy mode",
        "vars": "Reverse mode points these variables at the tap",
        "target": "Default upstream",
        "strip": "Reverse mode strips from each path",
        "hosts": "Hosts forward mode decrypts",
        "errors": "Errors the tap itself returns are shaped like",
        "e2e": "End-to-end tests with the real CLI (versions pinned in .ci/run)",
        "no_e2e": "none: it needs a real login",
        "none": "none",
        "colon": ": ",
        "no_vars": "none (see the notes)",
        "forward_note": (
            "Forward mode: claude-tap is the client's HTTPS proxy, with a CA of its own (`claude-tap ca`), "
            "and decrypts the hosts listed for the client below (`--tap-intercept-all`: every host). "
            "Reverse mode: the client's base URL points at claude-tap, which sends each request upstream."
        ),
    },
    "zh": {
        "title": "# 支持矩阵",
        "twin": "[English](support-matrix.md)",
        "generated": (
            "本页由 `python -m claude_tap.clients.matrix` 根据客户端注册表（`claude_tap/clients/`）生成；"
            "本页与代码不一致时会有测试失败。"
        ),
        "intro": (
            "用 `claude-tap --tap-client 名称 -- [客户端参数]` 运行其中任何一个。"
            "`--tap-proxy-mode {reverse,forward}` 覆盖默认模式，`--tap-target URL` 覆盖上游地址。"
        ),
        "summary": "## 客户端一览",
        "head": "| 客户端 | `--tap-client` | 命令 | 默认模式 | Base URL 变量 | 默认上游 |",
        "details": "## 各客户端说明",
        "install": "安装",
        "mode": "默认代理模式",
        "vars": "反向模式下指向 claude-tap 的变量",
        "target": "默认上游",
        "strip": "反向模式从路径开头去掉",
        "hosts": "正向模式解密的主机",
        "errors": "claude-tap 自身返回的错误格式",
        "e2e": "使用真实 CLI 的端到端测试（版本固定在 .ci/run 中）",
        "no_e2e": "无：需要真实登录",
        "none": "无",
        "colon": "：",
        "no_vars": "无（见说明）",
        "forward_note": (
            "正向模式：claude-tap 作为客户端的 HTTPS 代理，使用自己的 CA，解密下文为该客户端列出的主机"
            "（`--tap-intercept-all`：所有主机）；CA 见 `claude-tap ca`。"
            "反向模式：客户端的 Base URL 指向 claude-tap，由它把每个请求发往上游。"
        ),
    },
}

_MODES: dict[Language, dict[str, str]] = {
    "en": {"reverse": "reverse", "forward": "forward"},
    "zh": {"reverse": "反向（reverse）", "forward": "正向（forward）"},
}

_ERROR_STYLES: dict[Language, dict[str, str]] = {
    "en": {"anthropic": "the Anthropic API", "openai": "the OpenAI API", "gemini": "Google APIs"},
    "zh": {"anthropic": "Anthropic API", "openai": "OpenAI API", "gemini": "Google API"},
}

# What the tables cannot say: limits, bridges, and what was measured against the real CLI.
_NOTES: dict[str, dict[Language, tuple[str, ...]]] = {
    "claude": {
        "en": (
            "The upstream comes from ANTHROPIC_BASE_URL in the environment, `--settings`, or Claude's "
            "settings files; the tap's URL is also passed as `--settings` because settings beat the "
            "environment.",
            "AWS Bedrock's signed requests cannot be redirected: use forward mode there.",
        ),
        "zh": (
            "上游取自环境变量 ANTHROPIC_BASE_URL、`--settings` 或 Claude "
            "的设置文件；由于设置文件优先于环境变量，"
            "claude-tap 的地址也会通过 `--settings` 传入。",
            "AWS Bedrock 的请求带签名，无法改道：请使用正向模式。",
        ),
    },
    "codex": {
        "en": (
            "API key: https://api.openai.com; `codex login` (ChatGPT): "
            "https://chatgpt.com/backend-api/codex, "
            "where /v1 is stripped. The base URL is passed as `-c openai_base_url=...` too.",
            "Responses over WebSocket are recorded one response per turn, as each completes.",
        ),
        "zh": (
            "API 密钥：https://api.openai.com；`codex login`（ChatGPT "
            "登录）：https://chatgpt.com/backend-api/codex，"
            "此时去掉 /v1。Base URL 也会通过 `-c openai_base_url=...` 传入。",
            "通过 WebSocket 的 Responses 每个响应记录为一轮，完成时写入。",
        ),
    },
    "gemini": {
        "en": (
            "A Google login (Code Assist, cloudcode-pa.googleapis.com) has no base-URL override: forward "
            "mode.",
            "Reverse mode works with an API key (GEMINI_API_KEY) or Vertex AI; the tap reads the same "
            ".env files and ~/.gemini/settings.json as Gemini CLI. Node trusts NODE_EXTRA_CA_CERTS only.",
        ),
        "zh": (
            "Google 账号登录（Code Assist，cloudcode-pa.googleapis.com）无法改 Base URL：请用正向模式。",
            "反向模式适用于 API 密钥（GEMINI_API_KEY）或 Vertex AI；claude-tap 读取与 Gemini CLI 相同的 "
            ".env 文件"
            "和 ~/.gemini/settings.json。Node 只信任 NODE_EXTRA_CA_CERTS。",
        ),
    },
    "kimi": {
        "en": (
            "Chat Completions with reasoning_content. The upstream comes from KIMI_BASE_URL or the provider "
            "of `default_model` in ~/.kimi/config.toml; use `--tap-target https://api.moonshot.ai/v1` for "
            "Moonshot.",
            "kimi-cli 1.52.0 is an unmaintained stub that pipes a remote install script into a shell; "
            "claude-tap refuses to launch it. Install 1.51.0 (Python 3.12 or later).",
            "Not recorded: kimi-cli's telemetry, model list refresh and OAuth go to their own hosts and "
            "ignore proxies.",
        ),
        "zh": (
            "Chat Completions，含 reasoning_content。上游取自 KIMI_BASE_URL 或 ~/.kimi/config.toml 中 "
            "`default_model` 的提供方；Moonshot 请用 `--tap-target https://api.moonshot.ai/v1`。",
            "kimi-cli 1.52.0 是无人维护的空壳版本，会把远程安装脚本直接交给 shell 执行；claude-tap "
            "拒绝启动它。"
            "请安装 1.51.0（需要 Python 3.12 或更高版本）。",
            "不会被记录：kimi-cli 的遥测、模型列表刷新和 OAuth 请求直接访问各自的主机，不走代理。",
        ),
    },
    "opencode": {
        "en": (
            "Forward mode records every provider. Reverse mode covers the Anthropic provider only: the child "
            "gets ANTHROPIC_BASE_URL ending in /v1 (without it OpenCode 1.18 calls /messages and gets a "
            "404).",
        ),
        "zh": (
            "正向模式可记录所有提供方。反向模式只支持 Anthropic 提供方：子进程拿到以 /v1 结尾的 "
            "ANTHROPIC_BASE_URL（没有 /v1 时 OpenCode 1.18 会请求 /messages 并得到 404）。",
        ),
    },
    "pi": {
        "en": (
            "Forward mode records every provider, WebSocket included (its ChatGPT-login provider).",
            "Reverse mode covers Pi's `openai` provider. Pi reads neither OPENAI_BASE_URL nor "
            "ANTHROPIC_BASE_URL, so it runs with a temporary PI_CODING_AGENT_DIR of claude-tap's: your "
            "entries linked in (logins and sessions stay yours), and your models.json with "
            "`providers.openai.baseUrl` at the tap. Example: `claude-tap --tap-client pi "
            "--tap-proxy-mode reverse -- --provider openai --model gpt-4o-mini -p hi`.",
        ),
        "zh": (
            "正向模式可记录所有提供方，包括 WebSocket（ChatGPT 登录的提供方）。",
            "反向模式支持 Pi 的 `openai` 提供方。Pi 既不读 OPENAI_BASE_URL 也不读 ANTHROPIC_BASE_URL，"
            "因此它会在 claude-tap 创建的临时 PI_CODING_AGENT_DIR 中运行：你的文件以链接方式放入"
            "（登录信息和会话仍是你的），models.json 取自你的文件，并把 `providers.openai.baseUrl` 指向 "
            "claude-tap。示例：`claude-tap --tap-client pi --tap-proxy-mode reverse -- --provider openai "
            "--model gpt-4o-mini -p hi`。",
        ),
    },
    "hermes": {
        "en": (
            "Forward mode: httpx and requests honour HTTPS_PROXY and trust SSL_CERT_FILE / "
            "REQUESTS_CA_BUNDLE.",
            "Reverse mode cannot use OPENAI_BASE_URL (ignored with `--provider custom`, and ~/.hermes/.env "
            "overrides the environment): Hermes runs in a temporary HERMES_HOME of claude-tap's whose "
            "config names one provider, `claude-tap`, at the tap's /v1, with its key from OPENAI_API_KEY; "
            "your other files (.env, sessions, memories) are linked in. Choose the model with `-m`.",
            "`hermes gateway start` would hand the gateway to systemd/launchd, out of reach; claude-tap runs "
            "`gateway run` instead and says so. `-z` exits 0 even when the model call fails: the summary "
            "still shows the error.",
        ),
        "zh": (
            "正向模式：httpx 和 requests 遵循 HTTPS_PROXY，并信任 SSL_CERT_FILE / REQUESTS_CA_BUNDLE。",
            "反向模式不能用 OPENAI_BASE_URL（`--provider custom` 时被忽略，且 ~/.hermes/.env "
            "会覆盖环境变量）："
            "Hermes 在 claude-tap 创建的临时 HERMES_HOME 中运行，其配置只有一个名为 `claude-tap` 的提供方，"
            "指向 claude-tap 的 /v1，密钥取自 OPENAI_API_KEY；"
            "你的其他文件（.env、会话、记忆）以链接方式放入。用 `-m` 选择模型。",
            "`hermes gateway start` 会把网关交给 systemd/launchd，代理无法触及；claude-tap 改为运行 "
            "`gateway run` 并给出提示。`-z` 即使模型调用失败也返回 0：汇总中仍会显示错误。",
        ),
    },
    "cursor": {
        "en": (
            "No base-URL override: forward mode only. Connect/protobuf bodies are kept as bytes. "
            "The readable turns are in Cursor's local transcripts (~/.cursor/projects/*/agent-transcripts): "
            "each entry written during the run (or while `--tap-no-launch` records) is imported into the "
            "trace as it comes, tool calls included, and shown as a turn.",
        ),
        "zh": (
            "无法改 Base URL：只支持正向模式。Connect/protobuf 请求体按字节保存。可读的对话轮次在 Cursor "
            "的本地记录中（~/.cursor/projects/*/agent-transcripts）：运行期间"
            "（或 `--tap-no-launch` 录制期间）写入的每条记录都会随时导入 trace，"
            "包括工具调用，并显示为一个轮次。",
        ),
    },
    "qoder": {
        "en": (
            "Forward mode only; needs a real login (QODER_PERSONAL_ACCESS_TOKEN is exchanged at "
            "openapi.qoder.sh). The model call carries an encoded body, recorded as bytes; the viewer and "
            "exports show what it decodes to (Connect frames, compression, base64, JSON or schema-less "
            "protobuf, with the steps), a reading not yet checked against a real body. "
            "Its cosy-* credential headers (cosy-key, cosy-signature, cosy-user, cosy-machineid and any "
            "named like a token or secret) are redacted. claude-tap sets QODER_HTTPDNS=off so host lookups "
            "stay on the proxy.",
        ),
        "zh": (
            "只支持正向模式；需要真实登录（QODER_PERSONAL_ACCESS_TOKEN 会在 openapi.qoder.sh 换取凭据）。"
            "模型请求体经过编码，按字节记录；查看器和导出会显示它解码后的内容（Connect 帧、压缩、base64、"
            "JSON 或无 schema 的 protobuf，并列出步骤），这一解读尚未用真实请求体验证。"
            "cosy-* 凭据请求头（cosy-key、cosy-signature、"
            "cosy-user、cosy-machineid 以及名称像 token 或 secret 的）都会被脱敏。claude-tap 设置 "
            "QODER_HTTPDNS=off，让主机解析经过代理。",
        ),
    },
    "agy": {
        "en": (
            "Forward mode for auxiliary traffic plus a CLOUD_CODE_URL bridge: model calls "
            "(/v1internal:streamGenerateContent) go to the tap's own address and on to Code Assist. "
            "On macOS, `claude-tap ca --trust` adds the CA to the user's login keychain, "
            "without admin rights.",
        ),
        "zh": (
            "辅助流量走正向模式，另有 CLOUD_CODE_URL 桥接：模型请求（/v1internal:streamGenerateContent）发到 "
            "claude-tap 自己的地址，再转发到 Code Assist。在 macOS 上，`claude-tap ca --trust` "
            "把 CA 加入用户的登录钥匙串，无需管理员权限。",
        ),
    },
    "codebuddy": {
        "en": (
            "Chat Completions. The upstream comes from CODEBUDDY_BASE_URL, CodeBuddy's settings files, or "
            "the "
            "endpoint its login cached under ~/.codebuddy/local_storage/ (with /v2 appended). The tap's URL "
            "is also passed as `--settings`, as for Claude Code.",
        ),
        "zh": (
            "Chat Completions。上游取自 CODEBUDDY_BASE_URL、CodeBuddy 的设置文件，或登录后缓存在 "
            "~/.codebuddy/local_storage/ 下的地址（末尾加 /v2）。与 Claude Code 一样，claude-tap 的地址也会"
            "通过 `--settings` 传入。",
        ),
    },
}


# The real-CLI end-to-end tests of each client, by mode (tests/unit/test_support_matrix_docs.py checks
# that each file exists and runs the client in that mode).
E2E_TESTS: dict[str, dict[str, str]] = {
    "claude": {
        "reverse": "tests/e2e/test_claude_code.py",
        "forward": "tests/e2e/test_claude_code_forward.py",
    },
    "codex": {"reverse": "tests/e2e/test_codex_cli.py", "forward": "tests/e2e/test_codex_cli_forward.py"},
    "gemini": {"reverse": "tests/e2e/test_gemini_cli.py", "forward": "tests/e2e/test_gemini_cli.py"},
    "kimi": {"reverse": "tests/e2e/test_kimi_cli.py"},
    "opencode": {"reverse": "tests/e2e/test_opencode_cli.py", "forward": "tests/e2e/test_opencode_cli.py"},
    "pi": {"reverse": "tests/e2e/test_pi_cli.py", "forward": "tests/e2e/test_pi_cli.py"},
    "hermes": {"reverse": "tests/e2e/test_hermes_cli.py", "forward": "tests/e2e/test_hermes_cli.py"},
}


def render(language: Language) -> str:
    text = _TEXT[language]
    lines = [text["title"], "", text["twin"], "", text["generated"], "", text["intro"], ""]
    lines += [text["summary"], "", text["head"], "|---|---|---|---|---|---|"]
    for config in CLIENT_CONFIGS.values():
        variables = ", ".join(f"`{name}`" for name in config.base_url_env) or text["none"]
        mode = _MODES[language][config.default_proxy_mode]
        lines.append(
            f"| {config.display_name} | `{config.name}` | `{config.executable}` | {mode} | {variables} "
            f"| {config.default_target} |"
        )
    lines += ["", text["forward_note"], "", text["details"]]
    for config in CLIENT_CONFIGS.values():
        lines += ["", *_client_section(config, language)]
    return "\n".join(lines) + "\n"


def _client_section(config: ClientConfig, language: Language) -> list[str]:
    text = _TEXT[language]
    strip = config.reverse_strip_path_prefix(config.default_target)
    variables = ", ".join(f"`{name}`" for name in config.base_url_env) or text["no_vars"]
    colon = text["colon"]
    lines = [
        f"### {config.display_name} (`{config.name}`)",
        "",
        f"- {text['install']}{colon}`{config.install_hint}`",
        f"- {text['mode']}{colon}{_MODES[language][config.default_proxy_mode]}",
        f"- {text['vars']}{colon}{variables}",
        f"- {text['target']}{colon}{config.default_target}",
        f"- {text['strip']}{colon}{f'`{strip}`' if strip else text['none']}",
        f"- {text['hosts']}{colon}{', '.join(config.intercept_hosts)}",
        f"- {text['errors']}{colon}{_ERROR_STYLES[language][config.error_style]}",
        f"- {text['e2e']}{colon}{_e2e(config.name, language)}",
    ]
    for note in _NOTES.get(config.name, {}).get(language, ()):
        lines += ["", note]
    return lines


def _e2e(name: str, language: Language) -> str:
    tests = E2E_TESTS.get(name)
    if not tests:
        return _TEXT[language]["no_e2e"]
    return ", ".join(f"{_MODES[language][mode]} `{path}`" for mode, path in tests.items())


def main(argv: Sequence[str]) -> int:
    check = "--check" in argv
    stale = []
    for language, name in FILES.items():
        path = DOCS / name
        wanted = render(language)
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == wanted:
            continue
        if check:
            stale.append(name)
        else:
            path.write_text(wanted, encoding="utf-8")
            print(f"wrote docs/{name}")
    if stale:
        print(f"out of date: {', '.join(stale)}; run python -m claude_tap.clients.matrix", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
