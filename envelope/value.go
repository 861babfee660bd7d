package envelope

import (
	"fmt"
	"iter"
	"math"
	"math/big"
	"strconv"
)

// Kind is the JSON type of a [Value], with numbers split the way Python's
// json module splits them: a literal with '.', 'e' or 'E' is a float, any
// other number is an integer of arbitrary precision.
type Kind uint8

// The kinds of [Value].
const (
	KindNull Kind = iota
	KindBool
	KindInt
	KindFloat
	KindString
	KindArray
	KindObject
)

func (k Kind) String() string {
	switch k {
	case KindNull:
		return "null"
	case KindBool:
		return "bool"
	case KindInt:
		return "int"
	case KindFloat:
		return "float"
	case KindString:
		return "string"
	case KindArray:
		return "array"
	case KindObject:
		return "object"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is an untyped JSON value as the reference holds it after json.loads:
// objects keep their member order, integers keep every digit, floats are
// float64. It is used for the envelope parts the schema leaves open
// (driver_options, numa, metrics values, unknown fields).
//
// The zero Value is null. Values are immutable except through the methods of
// [Object]; copying a Value shares its array and object storage.
type Value struct {
	kind Kind
	b    bool
	f    float64
	s    string // a string, or the decimal digits of an integer
	arr  []Value
	obj  *Object
}

// Null returns the JSON null value.
func Null() Value { return Value{} }

// Bool returns a JSON boolean.
func Bool(b bool) Value { return Value{kind: KindBool, b: b} }

// Int returns a JSON integer.
func Int(i int64) Value { return Value{kind: KindInt, s: strconv.FormatInt(i, 10)} }

// BigInt returns a JSON integer of arbitrary precision. A nil x is 0.
func BigInt(x *big.Int) Value {
	if x == nil {
		return Int(0)
	}
	return Value{kind: KindInt, s: x.String()}
}

// Float returns a JSON float. Non-finite values can be held but cannot be
// canonicalized or written: [Envelope.CanonicalJSON] rejects them.
func Float(f float64) Value { return Value{kind: KindFloat, f: f} }

// String returns a JSON string.
func String(s string) Value { return Value{kind: KindString, s: s} }

// Array returns a JSON array holding vs.
func Array(vs ...Value) Value { return Value{kind: KindArray, arr: vs} }

// ObjectValue returns a JSON object value that shares o's storage.
// A nil o is an empty object.
func ObjectValue(o *Object) Value {
	if o == nil {
		o = &Object{}
	}
	return Value{kind: KindObject, obj: o}
}

// Kind reports the value's JSON type.
func (v Value) Kind() Kind { return v.kind }

// IsNull reports whether v is JSON null.
func (v Value) IsNull() bool { return v.kind == KindNull }

// AsBool returns the boolean and whether v is a boolean.
func (v Value) AsBool() (bool, bool) { return v.b, v.kind == KindBool }

// AsString returns the string and whether v is a string.
func (v Value) AsString() (string, bool) { return v.s, v.kind == KindString }

// AsInt64 returns the integer and whether v is an integer that fits int64.
func (v Value) AsInt64() (int64, bool) {
	if v.kind != KindInt {
		return 0, false
	}
	i, err := strconv.ParseInt(v.s, 10, 64)
	return i, err == nil
}

// AsBigInt returns the integer and whether v is an integer.
func (v Value) AsBigInt() (*big.Int, bool) {
	if v.kind != KindInt {
		return nil, false
	}
	x, ok := new(big.Int).SetString(v.s, 10)
	return x, ok
}

// AsFloat64 returns v as a float64 and whether v is a number (an integer is
// converted, rounding to the nearest float64 as Python's float() does).
func (v Value) AsFloat64() (float64, bool) {
	switch v.kind {
	case KindFloat:
		return v.f, true
	case KindInt:
		f, _ := strconv.ParseFloat(v.s, 64) // ±Inf beyond float64 range, like Python raises; callers check IsInf
		return f, true
	}
	return 0, false
}

// Len returns the number of elements of an array or members of an object, else 0.
func (v Value) Len() int {
	switch v.kind {
	case KindArray:
		return len(v.arr)
	case KindObject:
		return v.obj.Len()
	}
	return 0
}

// Elems iterates over the elements of an array.
func (v Value) Elems() iter.Seq2[int, Value] {
	return func(yield func(int, Value) bool) {
		for i, e := range v.arr {
			if !yield(i, e) {
				return
			}
		}
	}
}

// AsObject returns the object and whether v is an object. The object shares
// v's storage.
func (v Value) AsObject() (*Object, bool) {
	if v.kind != KindObject {
		return nil, false
	}
	return v.obj, true
}

// GoString renders v in the canonical form, for debugging and test failures.
func (v Value) GoString() string {
	b, err := appendCanonical(nil, v)
	if err != nil {
		return fmt.Sprintf("<invalid %s: %v>", v.kind, err)
	}
	return string(b)
}

// Equal reports whether v and w are the same JSON value, with the same kinds,
// member order and float bits (NaN equals NaN; -0.0 differs from 0.0).
func (v Value) Equal(w Value) bool {
	if v.kind != w.kind {
		return false
	}
	switch v.kind {
	case KindNull:
		return true
	case KindBool:
		return v.b == w.b
	case KindInt, KindString:
		return v.s == w.s
	case KindFloat:
		return math.Float64bits(v.f) == math.Float64bits(w.f) || (math.IsNaN(v.f) && math.IsNaN(w.f))
	case KindArray:
		if len(v.arr) != len(w.arr) {
			return false
		}
		for i := range v.arr {
			if !v.arr[i].Equal(w.arr[i]) {
				return false
			}
		}
		return true
	case KindObject:
		return v.obj.Equal(w.obj)
	}
	return false
}

// Member is one key/value pair of an [Object].
type Member struct {
	Key   string
	Value Value
}

// Object is a JSON object that keeps its members in insertion order, the
// order in which they are written to a file. Setting an existing key replaces
// its value in place. (Parsed JSON never holds a repeated key: [Parse]
// rejects one with a *[DuplicateKeyError].) Lookups use a map once an object
// has more than a few members, so building an object key by key is linear.
//
// The zero Object is empty and ready to use. An Object is not safe for
// concurrent mutation.
type Object struct {
	members []Member
	idx     map[string]int // built lazily for large objects
}

// indexThreshold is the member count above which lookups use a map.
const indexThreshold = 16

// NewObject returns an object holding ms in order, later duplicates
// replacing earlier values.
func NewObject(ms ...Member) *Object {
	o := &Object{}
	for _, m := range ms {
		o.Set(m.Key, m.Value)
	}
	return o
}

// Len returns the number of members. A nil Object is empty.
func (o *Object) Len() int {
	if o == nil {
		return 0
	}
	return len(o.members)
}

func (o *Object) index(key string) int {
	if o == nil {
		return -1
	}
	if len(o.members) > indexThreshold {
		if o.idx == nil {
			o.idx = make(map[string]int, len(o.members))
			for i, m := range o.members {
				o.idx[m.Key] = i
			}
		}
		if i, ok := o.idx[key]; ok {
			return i
		}
		return -1
	}
	for i := range o.members {
		if o.members[i].Key == key {
			return i
		}
	}
	return -1
}

// Get returns the value of key and whether it is present.
func (o *Object) Get(key string) (Value, bool) {
	if i := o.index(key); i >= 0 {
		return o.members[i].Value, true
	}
	return Value{}, false
}

// Has reports whether key is present.
func (o *Object) Has(key string) bool { return o.index(key) >= 0 }

// Set sets key to v, in place if key exists, else at the end.
func (o *Object) Set(key string, v Value) {
	if i := o.index(key); i >= 0 {
		o.members[i].Value = v
		return
	}
	o.members = append(o.members, Member{Key: key, Value: v})
	if o.idx != nil {
		o.idx[key] = len(o.members) - 1
	}
}

// Delete removes key if present.
func (o *Object) Delete(key string) {
	if i := o.index(key); i >= 0 {
		o.members = append(o.members[:i], o.members[i+1:]...)
		o.idx = nil
	}
}

// All iterates over the members in order.
func (o *Object) All() iter.Seq2[string, Value] {
	return func(yield func(string, Value) bool) {
		if o == nil {
			return
		}
		for _, m := range o.members {
			if !yield(m.Key, m.Value) {
				return
			}
		}
	}
}

// Keys returns the keys in order.
func (o *Object) Keys() []string {
	keys := make([]string, 0, o.Len())
	for k := range o.All() {
		keys = append(keys, k)
	}
	return keys
}

// Clone returns a deep copy.
func (o *Object) Clone() *Object {
	c := &Object{members: make([]Member, 0, o.Len())}
	for k, v := range o.All() {
		c.members = append(c.members, Member{Key: k, Value: v.clone()})
	}
	return c
}

// Equal reports whether o and p hold equal members in the same order.
// A nil Object equals an empty one.
func (o *Object) Equal(p *Object) bool {
	if o.Len() != p.Len() {
		return false
	}
	for i := range o.Len() {
		a, b := o.members[i], p.members[i]
		if a.Key != b.Key || !a.Value.Equal(b.Value) {
			return false
		}
	}
	return true
}

func (v Value) clone() Value {
	switch v.kind {
	case KindArray:
		arr := make([]Value, len(v.arr))
		for i, e := range v.arr {
			arr[i] = e.clone()
		}
		v.arr = arr
	case KindObject:
		v.obj = v.obj.Clone()
	}
	return v
}
