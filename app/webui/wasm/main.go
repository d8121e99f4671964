//go:build js && wasm

// Command wasm is the web pages' WebAssembly module (app/webui): the
// session of app/webui/session, reaching the node with the browser's
// fetch. The page calls veritrialCall(name, argsJSON), which returns a
// promise of {"ok": answer} or {"error": message, "code": n}.
//
//	make wasm
//
// builds it into app/webui/assets/veritrial.wasm.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"syscall/js"

	"github.com/veritrial/veritrial/app/webui/session"
)

func main() {
	s := session.New(fetch, nil)
	js.Global().Set("veritrialCall", js.FuncOf(func(_ js.Value, argv []js.Value) any {
		name, in := argv[0].String(), argv[1].String()
		return promise(func() any {
			out, err := s.Call(context.Background(), name, []byte(in))
			return reply(out, err)
		})
	}))
	js.Global().Call("dispatchEvent", js.Global().Get("Event").New("veritrial-ready"))
	select {}
}

// reply renders a call's answer as the page reads it.
func reply(out any, err error) string {
	doc := map[string]any{"ok": out}
	if err != nil {
		doc = map[string]any{"error": err.Error()}
		var ae *session.APIError
		if errors.As(err, &ae) {
			doc["code"] = ae.Code
		}
	}
	bz, err := json.Marshal(doc)
	if err != nil {
		bz, _ = json.Marshal(map[string]any{"error": err.Error()})
	}
	return string(bz)
}

// promise runs f outside the JavaScript event loop's callback (which must
// not block) and resolves with its value.
func promise(f func() any) js.Value {
	var handler js.Func
	handler = js.FuncOf(func(_ js.Value, argv []js.Value) any {
		resolve := argv[0]
		go func() {
			defer handler.Release()
			resolve.Invoke(f())
		}()
		return nil
	})
	return js.Global().Get("Promise").New(handler)
}

// fetch sends one request to the page's own origin with the browser's
// fetch.
func fetch(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	opts := map[string]any{"method": method, "credentials": "same-origin"}
	if body != nil {
		opts["headers"] = map[string]any{"Content-Type": "application/json"}
		opts["body"] = string(body)
	}
	res, err := await(ctx, js.Global().Call("fetch", path, opts))
	if err != nil {
		return 0, nil, err
	}
	buf, err := await(ctx, res.Call("arrayBuffer"))
	if err != nil {
		return 0, nil, err
	}
	arr := js.Global().Get("Uint8Array").New(buf)
	out := make([]byte, arr.Get("length").Int())
	js.CopyBytesToGo(out, arr)
	return res.Get("status").Int(), out, nil
}

// await waits for a JavaScript promise.
func await(ctx context.Context, p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	var ok, fail js.Func
	ok = js.FuncOf(func(_ js.Value, argv []js.Value) any {
		ch <- result{v: argv[0]}
		return nil
	})
	fail = js.FuncOf(func(_ js.Value, argv []js.Value) any {
		ch <- result{err: fmt.Errorf("%s", argv[0].Call("toString").String())}
		return nil
	})
	defer ok.Release()
	defer fail.Release()
	p.Call("then", ok, fail)
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		return js.Value{}, ctx.Err()
	}
}
