package validator

import "testing"

type prompt struct {
	Prompt string  `json:"prompt" validate:"regexp=\\S"`
	Extra  *string `validate:"regexp=^a"`
	Plain  int
}

func TestRegexpRule(t *testing.T) {
	if err := Validate(&prompt{Prompt: "a fox"}); err != nil {
		t.Fatalf("valid struct rejected: %v", err)
	}
	if err := Validate(prompt{Prompt: "   "}); err == nil {
		t.Fatal("blank prompt accepted")
	}
	bad := "b"
	if err := Validate(&prompt{Prompt: "x", Extra: &bad}); err == nil {
		t.Fatal("pointer field not checked")
	}
}

func TestUnknownRuleIsRefused(t *testing.T) {
	type other struct {
		N int `validate:"min=1"`
	}
	if err := Validate(other{N: 0}); err == nil {
		t.Fatal("an unsupported rule passed silently")
	}
}
