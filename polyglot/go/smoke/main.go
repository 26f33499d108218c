// Smoke test of the generated Go client against the mock: N generations with random
// seeds (some past 2^31), each decoded to a PNG of the size asked, then a wrong key
// must come back as a 401 error. Reads NEBULA_BASE_URL, NEBULA_API_KEY and SMOKE_COUNT;
// prints "N passed, M failed".
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"strconv"

	nebula "github.com/nebulablock/nebula-images-go"
)

var pngSignature = []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}

func client(baseURL string) *nebula.APIClient {
	config := nebula.NewConfiguration()
	config.Servers = nebula.ServerConfigurations{{URL: baseURL}}
	return nebula.NewAPIClient(config)
}

func checkPNG(file []byte, width, height int32) error {
	if len(file) < 33 || !bytes.Equal(file[:8], pngSignature) {
		return fmt.Errorf("not a PNG (%d bytes)", len(file))
	}
	gotW, gotH := binary.BigEndian.Uint32(file[16:20]), binary.BigEndian.Uint32(file[20:24])
	if gotW != uint32(width) || gotH != uint32(height) {
		return fmt.Errorf("PNG is %dx%d, asked %dx%d", gotW, gotH, width, height)
	}
	return nil
}

func generate(api *nebula.APIClient, ctx context.Context, i int, seed int64, width, height int32) error {
	body := nebula.NewFluxSchnellRequest("black-forest-labs/FLUX.1-schnell", fmt.Sprintf("smoke test %d", i))
	body.SetNumSteps(1)
	body.SetWidth(width)
	body.SetHeight(height)
	body.SetSeed(seed)
	request := nebula.FluxSchnellRequestAsImageGenerationRequest(body)
	response, _, err := api.ImagesAPI.GenerateImage(ctx).ImageGenerationRequest(request).
		IdempotencyKey(fmt.Sprintf("go-smoke-%d-%d", i, seed)).Execute()
	if err != nil {
		return err
	}
	// The 200 body is a one-of: the images, or a generation that failed.
	if response.ImageGenerationResponse == nil {
		return fmt.Errorf("a 200 that is not the images: %+v", response.GenerationFailure)
	}
	image := response.ImageGenerationResponse.GetData()[0]
	file, err := base64.StdEncoding.DecodeString(image.GetB64Json())
	if err != nil {
		return err
	}
	if err := checkPNG(file, width, height); err != nil {
		return err
	}
	if image.GetSeed() != seed {
		return fmt.Errorf("seed %d came back as %d", seed, image.GetSeed())
	}
	return nil
}

func main() {
	baseURL, apiKey := os.Getenv("NEBULA_BASE_URL"), os.Getenv("NEBULA_API_KEY")
	count, err := strconv.Atoi(os.Getenv("SMOKE_COUNT"))
	if err != nil {
		count = 50
	}
	api := client(baseURL)
	ctx := context.WithValue(context.Background(), nebula.ContextAccessToken, apiKey)
	random := rand.New(rand.NewSource(20251130))
	// The edges first, then random seeds over the whole range 0 .. 2^32-1.
	seeds := []int64{4294967295, 2147483648, 2147483647, 0}
	for len(seeds) < count {
		seeds = append(seeds, random.Int63n(4294967296))
	}
	passed, failed := 0, 0
	for i := 0; i < count; i++ {
		width, height := int32(64+8*random.Intn(8)), int32(64+8*random.Intn(8))
		if err := generate(api, ctx, i, seeds[i], width, height); err != nil {
			fmt.Printf("generation %d (seed %d): %v\n", i, seeds[i], err)
			failed++
		} else {
			passed++
		}
	}
	stranger := context.WithValue(context.Background(), nebula.ContextAccessToken, "not-a-key")
	_, httpResponse, err := api.ModelsAPI.ListModels(stranger).Execute()
	var apiErr *nebula.GenericOpenAPIError
	if errors.As(err, &apiErr) && httpResponse != nil && httpResponse.StatusCode == 401 {
		passed++
	} else {
		fmt.Printf("a wrong key: expected a 401 error, got %v\n", err)
		failed++
	}
	fmt.Printf("go: %d passed, %d failed\n", passed, failed)
	if failed > 0 {
		os.Exit(1)
	}
}
