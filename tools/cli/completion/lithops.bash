# bash completion for `lithops` (installed to share/bash-completion/completions/lithops).
# Completes verbs, their sub-verbs and options, and file names after --config.
_lithops() {
  local cur prev verb sub i
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD-1]}
  if [ "$prev" = "--config" ]; then
    COMPREPLY=($(compgen -f -- "$cur"))
    return
  fi
  verb= sub=
  for ((i = 1; i < COMP_CWORD; i++)); do
    case ${COMP_WORDS[i]} in
      --config) ((i++)) ;;
      -*) ;;
      *) if [ -z "$verb" ]; then verb=${COMP_WORDS[i]}; elif [ -z "$sub" ]; then sub=${COMP_WORDS[i]}; fi ;;
    esac
  done
  local words
  case $verb in
    "") words="hello test plugins plugin sessions clean runtime config --config --help" ;;
    hello) words="--timeout --help" ;;
    test) words="--only --help" ;;
    plugins) words="--path --help" ;;
    sessions) words="--timeout --help" ;;
    clean) words="--dry-run --all --session --timeout --help" ;;
    runtime)
      case $sub in
        "") words="build deploy list delete --help" ;;
        *) words="--help" ;;
      esac ;;
    plugin)
      case $sub in
        "") words="check --help" ;;
        check) words="--plugin-dir --help" ;;
        *) words="--help" ;;
      esac ;;
    config)
      case $sub in
        "") words="show check --help" ;;
        check) words="--timeout --help" ;;
        *) words="--help" ;;
      esac ;;
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _lithops lithops
