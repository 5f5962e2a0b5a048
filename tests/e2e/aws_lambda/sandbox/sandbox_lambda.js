// Runs a Lithops custom runtime under npm's @architect/sandbox (v8), whose Lambda Runtime API
// nobody in this project wrote, and puts the Lambda Invoke API in front of it so that an unchanged
// Lithops driver (the aws_lambda backend, endpoint_url pointing here) can call it.
//
//   node sandbox_lambda.js --project DIR --function NAME --port-file FILE
//
// DIR/build/events/lithops holds the unpacked output of `lithops runtime build` (its `bootstrap`).
// This script writes an Architect project around it: one @events function whose runtime is a
// `compiled` runtime plugin, so Sandbox starts the bootstrap itself, afresh for every invocation,
// with AWS_LAMBDA_RUNTIME_API=http://localhost:PORT/REQUEST-ID.
//
// The Invoke front (POST /2015-03-31/functions/NAME/invocations, on 127.0.0.1) hands each request
// body to Sandbox's own invoke path, the one its @events bus uses, but with the event verbatim
// (the bus would wrap it in an SNS record). It answers as Lambda does: 200 with the function's
// response, or 200 with X-Amz-Function-Error and the error document; 202 at once for the Event
// invocation type. Signatures are not checked here (lithops-lambda-emulator does that).
//
// Sandbox binds every interface and looks up cloud credentials at start: run it in a private
// network namespace (loopback only) with dummy AWS credentials, as the ctest test does.
'use strict'

const fs = require('fs')
const http = require('http')
const os = require('os')
const path = require('path')

function arg (name) {
  const i = process.argv.indexOf(name)
  if (i < 0 || i + 1 >= process.argv.length) {
    console.error(`usage: node sandbox_lambda.js --project DIR --function NAME --port-file FILE (missing ${name})`)
    process.exit(2)
  }
  return process.argv[i + 1]
}

const project = path.resolve(arg('--project'))
const functionName = arg('--function')
const portFile = arg('--port-file')

let sandbox, invokeLambda, invocations
try {
  sandbox = require('@architect/sandbox')
  invokeLambda = require('@architect/sandbox/src/invoke-lambda')
  invocations = require('@architect/sandbox/src/arc/_runtime-api').invocations
}
catch (err) {
  console.error(`sandbox_lambda.js: @architect/sandbox is not installed (${err.message}); ` +
                'install it with: tools/quickstart.sh deps')
  process.exit(3)
}

function writeProject () {
  const bootstrap = path.join(project, 'build', 'events', 'lithops', 'bootstrap')
  if (!fs.existsSync(bootstrap)) {
    console.error(`sandbox_lambda.js: ${bootstrap} is missing; unpack the zip of ` +
                  '`lithops runtime build` there first')
    process.exit(2)
  }
  fs.mkdirSync(path.join(project, 'src', 'plugins'), { recursive: true })
  fs.mkdirSync(path.join(project, 'src', 'events', 'lithops'), { recursive: true })
  fs.writeFileSync(path.join(project, 'app.arc'),
    '@app\nlithops-sandbox\n\n@events\nlithops\n\n@plugins\nlithops-runtime\n')
  fs.writeFileSync(path.join(project, 'src', 'plugins', 'lithops-runtime.js'),
    "module.exports = { set: { runtimes () { return { name: 'lithops-cpp', type: 'compiled', build: 'build' } } } }\n")
  fs.writeFileSync(path.join(project, 'src', 'events', 'lithops', 'config.arc'),
    '@aws\nruntime lithops-cpp\ntimeout 120\n')
}

// The variables the functions need beyond Sandbox's own (sanitizer options in sanitized builds).
function passedEnv () {
  const env = {}
  for (const name of [ 'ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS', 'TSAN_OPTIONS' ]) {
    if (process.env[name]) env[name] = process.env[name]
  }
  return env
}

// How a bootstrap ended, in the words Lambda uses for a runtime that exited without answering
// (Go's os.ProcessState: "exit status 3", "signal: aborted").
const signalWords = {
  SIGABRT: 'aborted', SIGKILL: 'killed', SIGSEGV: 'segmentation fault', SIGTERM: 'terminated',
  SIGBUS: 'bus error', SIGFPE: 'floating point exception', SIGILL: 'illegal instruction',
  SIGINT: 'interrupt', SIGHUP: 'hangup',
}
// Sandbox starts the bootstrap through a shell (spawn's `shell: true`), which reports a command
// killed by signal N as exit code 128 + N: turn that back into the signal Lambda would report.
function signalOfShellCode (code) {
  const n = Number(code) - 128
  if (!(n > 0 && n < 65)) return null
  return Object.keys(os.constants.signals).find(name => os.constants.signals[name] === n) || null
}
function exitError (requestID, exit) {
  let how = 'Runtime exited without providing a reason'
  if (exit && signalOfShellCode(exit.code)) exit = { code: null, signal: signalOfShellCode(exit.code) }
  if (exit && exit.signal && exit.signal !== 'null') {
    how = `Runtime exited with error: signal: ${signalWords[exit.signal] || exit.signal}`
  }
  else if (exit && exit.code && exit.code !== '0' && exit.code !== 'null') {
    how = `Runtime exited with error: exit status ${exit.code}`
  }
  return { errorType: 'Runtime.ExitError', errorMessage: `RequestId: ${requestID} Error: ${how}` }
}

function errorDocument (error) {
  if (error && typeof error === 'object') return error
  return { errorType: 'Sandbox.Error', errorMessage: String(error) }
}

async function main () {
  writeProject()
  const params = { cwd: project, quiet: true, logLevel: process.env.SANDBOX_LOG_LEVEL, env: passedEnv() }
  await sandbox.start(params)
  const lambda = params.inventory.get.events('lithops')
  let count = 0

  // Sandbox tells how a bootstrap ended only in a debug line of its own ("[REQUEST-ID] Emitted
  // 'close' (pid N, code 'C', signal 'S')", written before it completes the invocation); Lambda
  // reports it to the caller. Watch for that line (the version is pinned by package-lock.json).
  const exits = new Map()
  const closeLine = /^\[([^\]]+)\] Emitted 'close' \(pid [^,]*, code '([^']*)', signal '([^']*)'\)/
  const debugStatus = params.update.debug.status
  params.update.debug.status = (message, ...rest) => {
    const m = typeof message === 'string' && closeLine.exec(message)
    // Only while the invocation is open: after an answer Sandbox stops the bootstrap itself.
    if (m && invocations[m[1]]) exits.set(m[1], { code: m[2], signal: m[3] })
    return debugStatus(message, ...rest)
  }

  function invoke (event, done) {
    count++
    let requestID
    invokeLambda({ ...params, event, lambda }, (err, response, error, initError) => {
      const exit = exits.get(requestID)
      exits.delete(requestID)
      if (err) return done({ errorType: 'Sandbox.InvokeError', errorMessage: err.message })
      if (initError) return done(errorDocument(initError))
      if (error) return done(errorDocument(error))
      if (response === undefined) return done(exitError(requestID, exit))
      done(null, response)
    })
    // Sandbox registered the invocation under a request id of its own before returning.
    for (const [ id, entry ] of Object.entries(invocations)) {
      if (entry.request === event) requestID = id
    }
  }

  const server = http.createServer((req, res) => {
    const chunks = []
    req.on('data', c => chunks.push(c))
    req.on('end', () => {
      const m = /^\/2015-03-31\/functions\/([^/?]+)\/invocations/.exec(req.url)
      if (req.url === '/sandbox/stats') {
        res.writeHead(200, { 'content-type': 'application/json' })
        return res.end(JSON.stringify({ invocations: count }))
      }
      if (req.method !== 'POST' || !m) {
        res.writeHead(404, { 'x-amzn-errortype': 'ResourceNotFoundException' })
        return res.end(JSON.stringify({ message: `no such API here: ${req.method} ${req.url}` }))
      }
      if (decodeURIComponent(m[1]) !== functionName) {
        res.writeHead(404, { 'x-amzn-errortype': 'ResourceNotFoundException' })
        return res.end(JSON.stringify({ message: `Function not found: ${m[1]}` }))
      }
      let event
      try {
        event = JSON.parse(Buffer.concat(chunks).toString() || '{}')
      }
      catch (e) {
        res.writeHead(400, { 'x-amzn-errortype': 'InvalidRequestContentException' })
        return res.end(JSON.stringify({ message: 'Could not parse request body into json: ' + e.message }))
      }
      const type = req.headers['x-amz-invocation-type'] || 'RequestResponse'
      if (type === 'Event') {
        res.writeHead(202)
        res.end()
        invoke(event, err => { if (err) console.error('sandbox_lambda.js: Event invocation failed:', JSON.stringify(err)) })
        return
      }
      invoke(event, (err, response) => {
        const headers = { 'content-type': 'application/json', 'x-amz-executed-version': '$LATEST' }
        if (err) headers['x-amz-function-error'] = 'Unhandled'
        res.writeHead(200, headers)
        res.end(JSON.stringify(err || response))
      })
    })
  })
  server.listen(0, '127.0.0.1', () => {
    fs.writeFileSync(portFile + '.tmp', String(server.address().port))
    fs.renameSync(portFile + '.tmp', portFile)
  })

  const stop = async () => {
    server.close()
    try { await sandbox.end() }
    catch { /* already down */ }
    process.exit(0)
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

main().catch(err => {
  console.error('sandbox_lambda.js: Sandbox failed to start:', err && err.stack ? err.stack : err)
  process.exit(1)
})
