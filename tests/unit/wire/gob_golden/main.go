// Prints Go's encoding/gob bytes (hex) of the two WebSocket envelope structs, each a fresh stream.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/gob"
	"encoding/hex"
	"fmt"
	"os"
)

type GeneralWsReq struct {
	ReqIdentifier int
	Token         string
	SendID        string
	OperationID   string
	MsgIncr       string
	Data          []byte
}

type Resp struct {
	ReqIdentifier int32
	MsgIncr       string
	OperationID   string
	ErrCode       int
	ErrMsg        string
	Data          []byte
}

func show(name string, v any) {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(v); err != nil {
		panic(err)
	}
	fmt.Printf("%s %s\n", name, hex.EncodeToString(b.Bytes()))
}

func gz(name string, v any) {
	var raw, z bytes.Buffer
	if err := gob.NewEncoder(&raw).Encode(v); err != nil {
		panic(err)
	}
	w := gzip.NewWriter(&z)
	w.Write(raw.Bytes())
	w.Close()
	fmt.Printf("%s %s\n", name, hex.EncodeToString(z.Bytes()))
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "resp" {
		showResp()
		return
	}
	gz("req_full_gzip", GeneralWsReq{1003, "tok", "u1", "op-1", "u1_1", []byte{0x0a, 0x02, 0x68, 0x69}})
	show("req_full", GeneralWsReq{1003, "tok", "u1", "op-1", "u1_1", []byte{0x0a, 0x02, 0x68, 0x69}})
	show("req_zero", GeneralWsReq{})
	show("req_partial", GeneralWsReq{ReqIdentifier: 1001, SendID: "u1", OperationID: "op", MsgIncr: "m"})
	show("req_big", GeneralWsReq{ReqIdentifier: 1003, SendID: "用户", OperationID: "op", MsgIncr: "m", Data: bytes.Repeat([]byte{7}, 300)})
	show("req_negative", GeneralWsReq{ReqIdentifier: -129, SendID: "u"})
	showResp() // Resp is the second type this process meets: id 66
}

func showResp() {
	show("resp_full", Resp{1003, "u1_1", "op-1", 0, "", []byte{0x0a, 0x01, 0x78}})
	show("resp_error", Resp{1001, "m", "op", 1001, "ArgsError", nil})
	show("resp_push", Resp{ReqIdentifier: 2001, OperationID: "op", Data: []byte{1, 2, 3}})
	show("resp_kick", Resp{ReqIdentifier: 2002})
}
