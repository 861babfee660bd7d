package enginetest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"strings"
	"time"

	"github.com/benchprof/benchprof/loadgen/enginetest"
)

// Example streams a chat completion from the fake engine and prints its
// text and finish reason.
func Example() {
	srv, err := enginetest.Start(
		enginetest.WithTTFT(20*time.Millisecond),
		enginetest.WithITL(2*time.Millisecond),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	body := `{"model":"enginetest-model","messages":[{"role":"user","content":"Say four words"}],` +
		`"max_tokens":4,"stream":true}`
	resp, err := http.Post(srv.URL()+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()

	var text strings.Builder
	var finish string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var chunk struct {
			Choices []struct {
				Delta        struct{ Content string }
				FinishReason *string `json:"finish_reason"`
			}
		}
		if err := json.Unmarshal([]byte(data), &chunk); err != nil {
			log.Fatal(err)
		}
		for _, c := range chunk.Choices {
			text.WriteString(c.Delta.Content)
			if c.FinishReason != nil {
				finish = *c.FinishReason
			}
		}
	}
	if err := sc.Err(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.TrimSpace(text.String()))
	fmt.Println(finish)

	// The handler records the request once it returns, just after [DONE].
	if err := srv.WaitIdle(context.Background()); err != nil {
		log.Fatal(err)
	}
	rec := srv.Requests()[0]
	fmt.Println("first token not before the TTFT:", rec.FirstToken.Sub(rec.Arrival) >= 20*time.Millisecond)
	// Output:
	// tok0 tok1 tok2 tok3
	// length
	// first token not before the TTFT: true
}
