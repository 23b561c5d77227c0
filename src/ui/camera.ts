/** The webcam, for capture on the Data page (and the live demo). */

/** getUserMedia's failures in words a user can act on. */
export function cameraError(e: unknown): string {
  const name = (e as DOMException)?.name;
  if (name === 'NotAllowedError' || name === 'SecurityError') return 'Camera permission was denied: allow the camera for this site in the browser settings, or import photos instead.';
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return 'No camera was found on this device: import photos instead.';
  if (name === 'NotReadableError') return 'The camera is in use by another application.';
  if (!navigator.mediaDevices?.getUserMedia) return 'This browser gives no camera access here (it needs a secure context: https or localhost).';
  return `The camera could not be started: ${(e as Error)?.message ?? String(e)}`;
}

/** Starts the camera into a video element; throws cameraError's sentence on failure. */
export async function startCamera(video: HTMLVideoElement): Promise<MediaStream> {
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  } catch (e) {
    throw new Error(cameraError(e));
  }
  video.srcObject = stream;
  await video.play();
  return stream;
}
