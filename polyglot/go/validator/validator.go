// Package validator stands in for gopkg.in/validator.v2, which openapi-generator's Go
// client imports for its oneOf types, so that the client builds without the Go module
// proxy. It implements the one rule the generated structs carry, `regexp=PATTERN` on
// string fields, and refuses any other rule rather than pass it unchecked.
package validator

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
)

// Validate checks the `validate` tags of a struct (or a pointer to one).
func Validate(v interface{}) error {
	value := reflect.ValueOf(v)
	for value.Kind() == reflect.Pointer || value.Kind() == reflect.Interface {
		if value.IsNil() {
			return nil
		}
		value = value.Elem()
	}
	if value.Kind() != reflect.Struct {
		return nil
	}
	for i := 0; i < value.NumField(); i++ {
		field := value.Type().Field(i)
		tag, ok := field.Tag.Lookup("validate")
		if !ok || tag == "" || tag == "-" {
			continue
		}
		for _, rule := range strings.Split(tag, ",") {
			if err := check(field.Name, value.Field(i), rule); err != nil {
				return err
			}
		}
	}
	return nil
}

func check(name string, value reflect.Value, rule string) error {
	pattern, ok := strings.CutPrefix(rule, "regexp=")
	if !ok {
		return fmt.Errorf("%s: validation rule %q is not supported by this replacement", name, rule)
	}
	if value.Kind() == reflect.Pointer {
		if value.IsNil() {
			return nil
		}
		value = value.Elem()
	}
	if value.Kind() != reflect.String {
		return fmt.Errorf("%s: regexp rule on a %s", name, value.Kind())
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return fmt.Errorf("%s: bad pattern %q: %w", name, pattern, err)
	}
	if !re.MatchString(value.String()) {
		return fmt.Errorf("%s: does not match %q", name, pattern)
	}
	return nil
}
