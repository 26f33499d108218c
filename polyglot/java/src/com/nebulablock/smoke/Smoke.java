package com.nebulablock.smoke;

import com.nebulablock.images.ApiClient;
import com.nebulablock.images.ApiException;
import com.nebulablock.images.api.ImagesApi;
import com.nebulablock.images.api.ModelsApi;
import com.nebulablock.images.model.FluxSchnellRequest;
import com.nebulablock.images.model.GenerateImage200Response;
import com.nebulablock.images.model.GeneratedImage;
import com.nebulablock.images.model.ImageGenerationRequest;
import com.nebulablock.images.model.ImageGenerationResponse;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.UUID;

/**
 * Smoke test of the generated Java client against the mock: N generations with random
 * seeds (some past 2^31, which a 32-bit seed cannot hold), each decoded to a PNG of the
 * size asked; then a wrong key must be an ApiException with status 401. Reads
 * NEBULA_BASE_URL, NEBULA_API_KEY and SMOKE_COUNT; prints "N passed, M failed".
 */
public final class Smoke {
  private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

  private Smoke() {}

  public static void main(String[] args) throws Exception {
    String baseUrl = System.getenv("NEBULA_BASE_URL");
    String apiKey = System.getenv("NEBULA_API_KEY");
    int count = Integer.parseInt(System.getenv().getOrDefault("SMOKE_COUNT", "50"));
    ImagesApi images = new ImagesApi(client(baseUrl, apiKey));
    Random random = new Random(20251130L);
    // The edges first, then random seeds over the whole range 0 .. 2^32-1.
    List<Long> seeds = new ArrayList<>(Arrays.asList(4294967295L, 2147483648L, 2147483647L, 0L));
    while (seeds.size() < count) {
      seeds.add(random.nextLong(4294967296L));
    }
    int passed = 0;
    List<String> failures = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      long seed = seeds.get(i);
      int width = 64 + 8 * random.nextInt(8);
      int height = 64 + 8 * random.nextInt(8);
      FluxSchnellRequest body = new FluxSchnellRequest()
          .modelName(FluxSchnellRequest.ModelNameEnum.BLACK_FOREST_LABS_FLUX_1_SCHNELL)
          .prompt("smoke test " + i)
          .numSteps(1)
          .width(width)
          .height(height)
          .seed(seed);
      try {
        // The 200 body is a one-of: the images, or a generation that failed.
        GenerateImage200Response answer = images.generateImage(
            new ImageGenerationRequest(body), UUID.randomUUID().toString());
        if (!(answer.getActualInstance() instanceof ImageGenerationResponse response)) {
          throw new AssertionError("a 200 that is not the images: " + answer.getActualInstance());
        }
        GeneratedImage image = response.getData().get(0);
        checkPng(Base64.getDecoder().decode(image.getB64Json()), width, height);
        if (image.getSeed() == null || image.getSeed() != seed) {
          throw new AssertionError("seed " + seed + " came back as " + image.getSeed());
        }
        passed++;
      } catch (ApiException | RuntimeException | AssertionError e) {
        failures.add("generation " + i + " (seed " + seed + "): " + e);
      }
    }
    try {
      new ModelsApi(client(baseUrl, "not-a-key")).listModels();
      failures.add("a wrong key was accepted");
    } catch (ApiException e) {
      if (e.getCode() == 401 && e.getResponseBody().contains("\"failed\"")) {
        passed++;
      } else {
        failures.add("a wrong key: expected 401, got " + e.getCode());
      }
    }
    failures.forEach(System.out::println);
    System.out.println("java: " + passed + " passed, " + failures.size() + " failed");
    System.exit(failures.isEmpty() ? 0 : 1);
  }

  private static ApiClient client(String baseUrl, String apiKey) {
    ApiClient client = new ApiClient();
    client.updateBaseUri(baseUrl);
    client.setRequestInterceptor(request -> request.header("Authorization", "Bearer " + apiKey));
    return client;
  }

  private static void checkPng(byte[] file, int width, int height) {
    if (file.length < 33 || !Arrays.equals(Arrays.copyOf(file, 8), PNG_SIGNATURE)) {
      throw new AssertionError("not a PNG (" + file.length + " bytes)");
    }
    ByteBuffer header = ByteBuffer.wrap(file, 16, 8);
    int gotWidth = header.getInt();
    int gotHeight = header.getInt();
    if (gotWidth != width || gotHeight != height) {
      throw new AssertionError("PNG is " + gotWidth + "x" + gotHeight + ", asked " + width + "x" + height);
    }
  }
}
