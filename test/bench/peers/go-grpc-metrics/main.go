// The benchmark peer of grpc-metrics: the same per-method gRPC counting written against the Go
// proxy-wasm SDK (github.com/proxy-wasm/proxy-wasm-go-sdk, upstream Go >= 1.24, GOOS=wasip1
// GOARCH=wasm, -buildmode=c-shared), so `npm run bench` can compare ns per RPC and module size.
//
// Per gRPC request, the same host interactions as filters/grpc-metrics with its default
// configuration: content-type and :path from the request headers, the listener direction
// property, the start time, started and in-flight, the filter state wasm.grpc_service /
// wasm.grpc_method; length-prefixed messages counted on each body chunk; the trailers'
// grpc-status; at the end handled by code, the duration histogram (ms), messages and message
// bytes each way, in-flight. Labels use Istio's `tag=.=value;.;` names; the first 100 methods
// get series of their own, the others are grpc_method="other".
package main

import (
	"strings"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func main() {}

func init() {
	proxywasm.SetPluginContext(func(uint32) types.PluginContext {
		return &plugin{methods: map[string]*method{}}
	})
}

const maxMethods = 100

var codeNames = [17]string{"OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound",
	"AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange",
	"Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated"}

// series of one (side, type, service, method).
type series struct {
	labels                                       string
	prefix                                       string
	started, received, sent, recvBytes, sentBytes proxywasm.MetricCounter
	inFlight                                     proxywasm.MetricGauge
	handling                                     proxywasm.MetricHistogram
	handled                                      [17]proxywasm.MetricCounter
	defined                                      [17]bool
}

type method struct {
	service, name string
	sides        [2]*series
}

type plugin struct {
	types.DefaultPluginContext
	methods map[string]*method
	tracked int
}

func (p *plugin) NewHttpContext(uint32) types.HttpContext { return &stream{p: p} }

func sanitize(v string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-' || r == '/' {
			return r
		}
		return '_'
	}, v)
}

func (p *plugin) lookup(path string) *method {
	if m, ok := p.methods[path]; ok {
		return m
	}
	svc, name := "unknown", "unknown"
	if len(path) > 1 && path[0] == '/' {
		if i := strings.IndexByte(path[1:], '/'); i > 0 && i < len(path)-2 && !strings.Contains(path[i+2:], "/") {
			svc, name = path[1:i+1], path[i+2:]
		}
	}
	if svc != "unknown" && p.tracked >= maxMethods {
		svc, name = "other", "other"
	} else if svc != "unknown" {
		p.tracked++
	}
	m := &method{service: sanitize(svc), name: sanitize(name)}
	if len(p.methods) < 4*maxMethods {
		p.methods[path] = m
	}
	return m
}

func (m *method) seriesFor(side int) *series {
	if s := m.sides[side]; s != nil {
		return s
	}
	sideName := "server"
	if side == 1 {
		sideName = "client"
	}
	labels := "grpc_type=.=unary;.;grpc_service=.=" + m.service + ";.;grpc_method=.=" + m.name + ";.;"
	prefix := "grpc_" + sideName + "_"
	s := &series{labels: labels, prefix: prefix}
	s.started = proxywasm.DefineCounterMetric(labels + prefix + "started_total")
	s.received = proxywasm.DefineCounterMetric(labels + prefix + "msg_received_total")
	s.sent = proxywasm.DefineCounterMetric(labels + prefix + "msg_sent_total")
	s.recvBytes = proxywasm.DefineCounterMetric(labels + prefix + "msg_received_bytes_total")
	s.sentBytes = proxywasm.DefineCounterMetric(labels + prefix + "msg_sent_bytes_total")
	s.inFlight = proxywasm.DefineGaugeMetric(labels + prefix + "in_flight")
	s.handling = proxywasm.DefineHistogramMetric(labels + prefix + "handling_milliseconds")
	m.sides[side] = s
	return s
}

// frames counts length-prefixed gRPC messages across chunks.
type frames struct {
	messages, payload uint64
	fill              int
	length            uint32
	remaining         uint32
	inPayload, bad    bool
}

func (f *frames) feed(b []byte) {
	for i := 0; i < len(b) && !f.bad; {
		if f.inPayload {
			n := uint32(len(b) - i)
			if n > f.remaining {
				n = f.remaining
			}
			i += int(n)
			f.remaining -= n
			if f.remaining == 0 {
				f.inPayload = false
				f.messages++
				f.payload += uint64(f.length)
			}
			continue
		}
		c := b[i]
		i++
		if f.fill == 0 {
			if c&^1 != 0 {
				f.bad = true
				return
			}
			f.length = 0
		} else {
			f.length = f.length<<8 | uint32(c)
		}
		f.fill++
		if f.fill == 5 {
			f.fill = 0
			if f.length == 0 {
				f.messages++
			} else {
				f.inPayload, f.remaining = true, f.length
			}
		}
	}
}

type stream struct {
	types.DefaultHttpContext
	p                *plugin
	s                *series
	side             int
	start, end       int64
	req, resp        frames
	trailerCode      int
	responseDone     bool
	trailersSeen     bool
	done             bool
}

func isGrpc(ct string) bool {
	return ct == "application/grpc" || strings.HasPrefix(ct, "application/grpc+")
}

func (x *stream) OnHttpRequestHeaders(int, bool) types.Action {
	ct, err := proxywasm.GetHttpRequestHeader("content-type")
	if err != nil || !isGrpc(ct) {
		return types.ActionContinue
	}
	path, _ := proxywasm.GetHttpRequestHeader(":path")
	m := x.p.lookup(path)
	if v, err := proxywasm.GetProperty([]string{"xds", "listener_direction"}); err == nil && len(v) == 8 && v[0] == 2 {
		x.side = 1
	}
	x.s = m.seriesFor(x.side)
	x.start = time.Now().UnixNano()
	x.s.started.Increment(1)
	x.s.inFlight.Add(1)
	x.trailerCode = -2
	_ = proxywasm.SetProperty([]string{"grpc_service"}, []byte(m.service))
	_ = proxywasm.SetProperty([]string{"grpc_method"}, []byte(m.name))
	return types.ActionContinue
}

func (x *stream) OnHttpRequestBody(size int, _ bool) types.Action {
	if x.s != nil && size > 0 {
		if b, err := proxywasm.GetHttpRequestBody(0, size); err == nil {
			x.req.feed(b)
		}
	}
	return types.ActionContinue
}

func (x *stream) endResponse() {
	if !x.responseDone {
		x.responseDone = true
		x.end = time.Now().UnixNano()
	}
}

func (x *stream) OnHttpResponseHeaders(_ int, eos bool) types.Action {
	if x.s != nil && eos {
		x.endResponse()
	}
	return types.ActionContinue
}

func (x *stream) OnHttpResponseBody(size int, eos bool) types.Action {
	if x.s == nil {
		return types.ActionContinue
	}
	if size > 0 {
		if b, err := proxywasm.GetHttpResponseBody(0, size); err == nil {
			x.resp.feed(b)
		}
	}
	if eos {
		x.endResponse()
	}
	return types.ActionContinue
}

func (x *stream) OnHttpResponseTrailers(int) types.Action {
	if x.s == nil {
		return types.ActionContinue
	}
	x.trailersSeen = true
	if v, err := proxywasm.GetHttpResponseTrailer("grpc-status"); err == nil {
		x.trailerCode = atoi(v)
	}
	x.endResponse()
	return types.ActionContinue
}

func atoi(v string) int {
	v = strings.TrimSpace(v)
	if len(v) == 0 {
		return -2
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' || n > 16 {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func httpToGrpc(status int) int {
	switch status {
	case 400:
		return 13
	case 401:
		return 16
	case 403:
		return 7
	case 404:
		return 12
	case 429, 502, 503, 504:
		return 14
	}
	return 2
}

func (x *stream) OnHttpStreamDone() {
	s := x.s
	if s == nil || x.done {
		return
	}
	x.done = true
	code := 1 // Canceled: the response never completed
	if x.responseDone {
		code = x.trailerCode
		if code == -2 {
			if v, err := proxywasm.GetHttpResponseHeader("grpc-status"); err == nil {
				code = atoi(v)
			} else if v, err := proxywasm.GetHttpResponseHeader(":status"); err == nil {
				code = httpToGrpc(atoi(v))
			}
		}
		if code < 0 || code > 16 {
			code = 2
		}
	} else {
		x.end = time.Now().UnixNano()
	}
	if !s.defined[code] {
		s.handled[code] = proxywasm.DefineCounterMetric(s.labels + "grpc_code=.=" + codeNames[code] + ";.;" + s.prefix + "handled_total")
		s.defined[code] = true
	}
	s.handled[code].Increment(1)
	s.inFlight.Add(-1)
	s.handling.Record(uint64((x.end - x.start) / 1_000_000))
	recv, sent := &x.req, &x.resp
	if x.side == 1 {
		recv, sent = sent, recv
	}
	if recv.messages > 0 {
		s.received.Increment(recv.messages)
		s.recvBytes.Increment(recv.payload)
	}
	if sent.messages > 0 {
		s.sent.Increment(sent.messages)
		s.sentBytes.Increment(sent.payload)
	}
}
