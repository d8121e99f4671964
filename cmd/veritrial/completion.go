package main

import (
	"io"

	"github.com/urfave/cli/v2"
)

// bashCompletion is urfave/cli's bash completion script for veritrial.
const bashCompletion = `# veritrial bash completion: source <(veritrial completion bash)
_veritrial_complete() {
  local cur opts
  COMPREPLY=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  if [[ "$cur" == "-"* ]]; then
    opts=$("${COMP_WORDS[@]:0:$COMP_CWORD}" "$cur" --generate-bash-completion 2>/dev/null)
  else
    opts=$("${COMP_WORDS[@]:0:$COMP_CWORD}" --generate-bash-completion 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "${opts}" -- "${cur}"))
  return 0
}
complete -o bashdefault -o default -F _veritrial_complete veritrial
`

// zshCompletion is urfave/cli's zsh completion script for veritrial.
const zshCompletion = `#compdef veritrial
# veritrial zsh completion: source <(veritrial completion zsh)
_veritrial() {
  local -a opts
  local cur
  cur=${words[-1]}
  if [[ "$cur" == "-"* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion 2>/dev/null)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion 2>/dev/null)}")
  fi
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
if [ "$funcstack[1]" = "_veritrial" ]; then
  _veritrial "$@"
else
  compdef _veritrial veritrial
fi
`

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Category:  categoryOther,
		Usage:     "print a shell completion script (bash or zsh)",
		ArgsUsage: "bash|zsh",
		UsageText: `veritrial completion bash|zsh

Example:
   source <(veritrial completion bash)         # in ~/.bashrc
   veritrial completion zsh > "${fpath[1]}/_veritrial"`,
		Action: func(c *cli.Context) error {
			if err := exactArgs(c, "shell"); err != nil {
				return err
			}
			var script string
			switch sh := c.Args().First(); sh {
			case "bash":
				script = bashCompletion
			case "zsh":
				script = zshCompletion
			default:
				return usageErrorf("no completion for shell %q: use bash or zsh", sh)
			}
			return emit(c, map[string]any{"shell": c.Args().First(), "script": script}, func(w io.Writer) error {
				return writeVerbatim(w, []byte(script))
			})
		},
	}
}
